import numpy as np
import matplotlib.pyplot as plt

rng = np.random.default_rng(0)
x = rng.uniform(-1, 1, 200)
y = 3 * x + 0.5 + 0.1 * rng.normal(size=200)

w, b = 0.0, 0.0
losses = []
for step in range(300):
    err = w * x + b - y
    losses.append(float(np.mean(err**2)))
    w -= 0.1 * 2 * np.mean(err * x)
    b -= 0.1 * 2 * np.mean(err)

plt.plot(losses)
plt.ylabel("loss")
plt.savefig("loss.png")
print(f"w = {w:.3f}, b = {b:.3f}")
