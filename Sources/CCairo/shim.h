// Cairo, the 2-D graphics library (Debian's libcairo2-dev): text on figures.
#include <cairo/cairo.h>
