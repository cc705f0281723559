import Foundation
import Testing
@testable import Datasets
import Imaging

/// The built-in colour set (`--data emoji`): the list's parser on its own, the set drawn from
/// Debian's font and labelled by the list's groups, checked against Pillow's own rendering of the
/// font, and transparency composited over the background in photo folders too.
@Suite(.serialized) struct EmojiTests {
    @Test func parsesTheListKeepingFullyQualifiedEmojiOutsideComponents() throws {
        let text = """
        # comment
        # group: Smileys & Emotion
        1F600                                                  ; fully-qualified     # 😀 E1.0 grinning face
        263A FE0F                                              ; fully-qualified     # ☺️ E0.6 smiling face
        263A                                                   ; unqualified         # ☺ E0.6 smiling face
        # group: Component
        1F3FB                                                  ; component           # 🏻 E1.0 light skin tone
        # group: People & Body
        1F44B 1F3FD                                            ; fully-qualified     # 👋🏽 E1.0 waving hand: medium skin tone
        1F469 200D 1F52C                                       ; fully-qualified     # 👩‍🔬 E4.0 woman scientist
        """
        let entries = try Emoji.entries(parsing: text, file: "t.txt")
        #expect(entries.map(\.name) == ["grinning face", "smiling face", "waving hand: medium skin tone", "woman scientist"])
        #expect(entries.map(\.group) == ["Smileys & Emotion", "Smileys & Emotion", "People & Body", "People & Body"])
        #expect(entries[3].scalars == [0x1F469, 0x200D, 0x1F52C])
        #expect(entries.map(\.hasSkinTone) == [false, false, true, false])
        for (bad, why) in [("# group: X\nZZZZ ; fully-qualified # ? E1.0 x", "line 2: 'ZZZZ' is not a code point"),
                           ("# group: X\n110000 ; fully-qualified # ? E1.0 x", "line 2: '110000' is not a code point"),
                           ("# group: X\n1F600 fully-qualified", "line 2: no ';'"),
                           ("1F600 ; fully-qualified # 😀 E1.0 grinning face", "line 1: an emoji before the first '# group:' line")] {
            #expect { try Emoji.entries(parsing: bad, file: "t.txt") } throws: { "\($0)".hasPrefix("t.txt: \(why)") }
        }
    }

    static let groups = ["Smileys & Emotion", "People & Body", "Animals & Nature", "Food & Drink", "Travel & Places",
                         "Activities", "Objects", "Symbols", "Flags"]

    /// The set at 32 px: about 1 900 emoji in the nine groups, flags and sequences drawn as one
    /// glyph, white around each drawing, cached; and the grinning face equals Pillow's rendering of
    /// the same font through FreeType, to rounding of the resampling.
    @Test func drawsTheFontLabelledByTheNineGroups() throws {
        let cache = scratch("emoji-cache")
        var logs: [String] = []
        let d = try DatasetLoader.load("emoji", imageSize: 32, cacheDirectory: cache) { logs.append($0) }
        #expect((1_700...2_000).contains(d.count) && d.channels == 3 && d.height == 32, "\(d.count) images: \(logs)")
        let (labels, names) = try d.requireLabels()
        #expect(names == Self.groups)
        #expect(Set(labels).count == 9)
        // Every group is represented in proportion to the list (Flags: about 260).
        let flags = labels.filter { $0 == 8 }.count
        #expect((200...300).contains(flags), "\(flags) flags")
        // White around the drawing: the corner pixels of nearly every image.
        let white = (0..<d.count).filter { i in let im = d.image(i); return im[0, 0, 0] > 240 && im[31, 31, 2] > 240 }.count
        #expect(Double(white) > 0.9 * Double(d.count), "\(white) of \(d.count) with white corners")
        // The first image is the grinning face: yellow (red and green well above blue) in the middle.
        let face = d.image(0)
        #expect(face[16, 10, 0] > 200 && face[16, 10, 1] > 150 && face[16, 10, 2] < 100, "\(face[16, 10, 0]) \(face[16, 10, 1]) \(face[16, 10, 2])")

        // Pillow draws the same glyph with FreeType (an independent reader of the font's CBDT table).
        let ours = scratch("emoji-ours") + "/face.png"
        try ImageCodec.writePNG(face, to: ours)
        let difference = try python("""
        import sys, numpy as np
        from PIL import Image, ImageFont, ImageDraw
        font = ImageFont.truetype(sys.argv[1], 109)  # the font's one strike, drawn 1:1
        left, top, right, bottom = font.getbbox("\\U0001F600")  # the bitmap's box: 136×128
        canvas = Image.new("RGBA", (right, bottom), (0, 0, 0, 0))
        ImageDraw.Draw(canvas).text((0, 0), "\\U0001F600", font=font, embedded_color=True)
        white = Image.new("RGBA", canvas.size, (255, 255, 255, 255)); white.alpha_composite(canvas)
        w, h = canvas.size; s = min(w, h)
        square = white.convert("RGB").crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)).resize((32, 32), Image.BOX)
        ours = np.asarray(Image.open(sys.argv[2]).convert("RGB"), dtype=np.float64)
        theirs = np.asarray(square, dtype=np.float64)
        print(np.abs(ours - theirs).mean(), np.corrcoef(ours.ravel(), theirs.ravel())[0, 1])
        """, [Emoji.fontPath, ours]).split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        try #require(difference.count == 2)
        #expect(difference[1] > 0.99 && difference[0] < 3, "correlation with Pillow's rendering \(difference[1]) (mean |difference| \(difference[0]))")

        // Cached: the second load reads the cache and gives the same pixels and labels.
        logs = []
        let again = try DatasetLoader.load("emoji", imageSize: 32, cacheDirectory: cache) { logs.append($0) }
        #expect(logs.contains { $0.contains("from the cache") } && again.pixels == d.pixels && again.labels == d.labels)
        #expect { try DatasetLoader.load("emoji", imageSize: 256, cacheDirectory: nil) } throws: { "\($0)".contains("sizes up to 128") }
    }

    /// Skin tones, a black background and emoji newer than the font, on a short list (drawing the
    /// whole set again would take most of a minute in a debug build): the skin-tone variant is kept
    /// only when asked for, a sequence the font draws as two glyphs is skipped and named, and the
    /// real list holds about 1 700 skin-tone variants besides.
    @Test func skinTonesBackgroundAndEmojiNewerThanTheFont() throws {
        let list = scratch("emoji-list") + "/emoji-test.txt"
        try """
        # group: Smileys & Emotion
        1F600 ; fully-qualified # 😀 E1.0 grinning face
        # group: People & Body
        1F44B 1F3FD ; fully-qualified # 👋🏽 E1.0 waving hand: medium skin tone
        1F469 200D 1F52C ; fully-qualified # 👩‍🔬 E4.0 woman scientist
        1F600 200D 1F52C ; fully-qualified # 😀‍🔬 E99.0 grinning scientist
        # group: Flags
        1F1FA 1F1F3 ; fully-qualified # 🇺🇳 E4.0 flag: United Nations

        """.write(toFile: list, atomically: true, encoding: .utf8)
        var logs: [String] = []
        let plain = try Emoji.load(size: 16, testFilePath: list, cacheDirectory: nil) { logs.append($0) }
        #expect(plain.count == 3 && plain.classNames == ["Smileys & Emotion", "People & Body", "Flags"] && plain.labels == [0, 1, 2])
        #expect(plain.skipped.map(\.file) == ["1F600 200D 1F52C grinning scientist"], "\(plain.skipped)")
        #expect(logs.contains { $0.contains("1 of 4 emoji skipped (1 newer than the font, e.g. grinning scientist)") }, "\(logs)")
        let toned = try Emoji.load(size: 16, skinTones: true, background: 0, testFilePath: list, cacheDirectory: nil)
        #expect(toned.count == 4 && toned.labels == [0, 1, 1, 2])
        #expect((0..<toned.count).allSatisfy { toned.image($0)[0, 0, 0] < 15 }, "black corners")
        let all = try Emoji.entries(parsing: try String(contentsOfFile: Emoji.testFilePath, encoding: .utf8), file: Emoji.testFilePath)
        #expect((1_500...2_000).contains(all.filter(\.hasSkinTone).count))
    }

    /// Transparent pixels composited over the background: α·colour + (1 − α)·background, gray+alpha
    /// to gray and RGBA to RGB, in a folder as in the emoji set; the garbage colour of fully
    /// transparent pixels never shows.
    @Test func transparencyIsCompositedOverTheBackground() throws {
        let rgba = Image(width: 2, height: 1, channels: 4, pixels: [200, 100, 0, 255, 7, 250, 3, 0])
        #expect(rgba.flattened(onto: 255).pixels == [200, 100, 0, 255, 255, 255])
        #expect(rgba.flattened(onto: 0).pixels == [200, 100, 0, 0, 0, 0])
        let half = Image(width: 1, height: 1, channels: 2, pixels: [100, 128])
        let expected: Int = (100 * 128 + 255 * 127 + 127) / 255  // 178
        #expect(half.flattened(onto: 255).pixels == [UInt8(expected)])
        let dir = scratch("alpha-folder")
        try python("""
        import sys, numpy as np
        from PIL import Image
        a = np.zeros((8, 8, 4), np.uint8); a[..., 1] = 255; a[2:6, 2:6] = (255, 0, 0, 255)
        Image.fromarray(a).save(sys.argv[1] + '/a.png')
        """, [dir])
        let white = try DatasetLoader.load(dir, imageSize: 8, cacheDirectory: nil).image(0)
        let black = try DatasetLoader.load(dir, imageSize: 8, background: 0, cacheDirectory: nil).image(0)
        #expect(white[0, 0, 0] == 255 && white[0, 0, 1] == 255 && white[0, 0, 2] == 255)
        #expect(black[0, 0, 0] == 0 && black[0, 0, 1] == 0 && black[0, 0, 2] == 0)
        #expect(white[3, 3, 0] == 255 && white[3, 3, 1] == 0 && black[3, 3, 0] == 255 && black[3, 3, 1] == 0)
    }
}
