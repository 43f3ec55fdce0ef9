import random
from PIL import Image, ImageDraw, ImageFont, ImageFilter
random.seed(4)
W, H = 850, 1100  # 100 dpi letter
CLEAN = ["Problem 4", "",
 "(a) The plain layer has 213,504 parameters and the split-transform-merge",
 "layer has 78,592 parameters. Each path of the layer counts the weights and",
 "the biases of its three convolutions, and we have checked both of the counts",
 "with the summary of the model that the notebook prints for each of them.",
 "", "Problem 5", "",
 "The test error first goes down, then up near the interpolation threshold,",
 "and then down again as the width of the network grows: this is the double",
 "descent that the experiment in the notebook shows for every seed we tried."]
def clean():
    img = Image.new("L", (W, H), 255); d = ImageDraw.Draw(img)
    f = ImageFont.truetype("/usr/share/fonts/opentype/urw-base35/NimbusRoman-Regular.otf", 17)
    for k, line in enumerate(CLEAN):
        d.text((80, 90 + 26 * k), line, font=f, fill=0)
    img.save("clean.png")
HAND = ["Prob 4 a)  plain = 213504 params", "STM: 32 x 2456 = 78592", "", "Prob 5  double descent:",
        "test err goes down, up near n=p, then down", "again as the width grows", "", "Var(y_L) = 3^-L + sum 1/(n_i 3^(L-i))"]
def hand():
    img = Image.new("L", (W, H), 250); d = ImageDraw.Draw(img)
    f = [ImageFont.truetype("/usr/share/fonts/opentype/urw-base35/Z003-MediumItalic.otf", s) for s in (24, 28, 32)]
    y = 100
    for line in HAND:
        x = 70 + random.randint(-10, 10)
        for ch in line:
            font = random.choice(f)
            glyph = Image.new("L", (50, 60), 0); gd = ImageDraw.Draw(glyph)
            gd.text((8, 8), ch, font=font, fill=255)
            glyph = glyph.rotate(random.uniform(-25, 25), resample=Image.BILINEAR)
            img.paste(0, (x, y + random.randint(-6, 6)), glyph)
            x += int(font.getlength(ch) * random.uniform(0.8, 1.3)) + random.randint(-2, 3)
        y += 55 + random.randint(-8, 8)
    img = img.filter(ImageFilter.GaussianBlur(1.2))
    px = img.load()
    for _ in range(6000):
        px[random.randrange(W), random.randrange(H)] = random.randint(0, 120)
    img.save("hand.png")
clean(); hand()
