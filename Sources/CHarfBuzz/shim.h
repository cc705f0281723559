// HarfBuzz: text shaping (an emoji sequence → the font's glyph) and the OpenType colour tables
// (a CBDT glyph's PNG), for the built-in emoji dataset.
#include <hb.h>
#include <hb-ot.h>
