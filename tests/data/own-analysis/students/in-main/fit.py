import numpy as np
import matplotlib.pyplot as plt


def main():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 200)
    y = 3 * x + 0.5 + 0.1 * rng.normal(size=200)
    w, b = 0.0, 0.0
    history = []
    for step in range(300):
        err = w * x + b - y
        history.append(float(np.mean(err**2)))
        w -= 0.1 * 2 * np.mean(err * x)
        b -= 0.1 * 2 * np.mean(err)
    plt.plot(range(len(history)), history)
    plt.savefig("loss.png")


if __name__ == "__main__":
    main()
