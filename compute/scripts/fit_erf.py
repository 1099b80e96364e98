"""Fits the erf polynomials used by compute/src/cpu/gelu.rs (pure Python, double precision).

Chebyshev interpolation (near-minimax) converted to monomials:
  |x| <= 1:      erf(x) = x * P(x^2)                 P in t = x^2 on [0, 1]
  1 < |x| < 4:   erf(x) = 1 - exp(-x^2) * Q(u)       u = (|x| - 2.5) / 1.5 on [-1, 1]
  |x| >= 4:      erf(x) = +-1  (erfc(4) = 1.5e-8)
Prints the coefficients (lowest order first) and the max error in double.
Run: python3 compute/scripts/fit_erf.py
"""
import math


def cheb_interp(f, a, b, deg):
    """Monomial coefficients, in the variable s = (y - a) / (b - a) * 2 - 1 mapped back to y, of the
    degree-`deg` interpolant of f at Chebyshev nodes on [a, b] (returned in the variable y)."""
    n = deg + 1
    nodes = [math.cos(math.pi * (i + 0.5) / n) for i in range(n)]
    ys = [a + (b - a) * (s + 1) / 2 for s in nodes]
    # Solve the Vandermonde system in y directly (small degree, double is enough here).
    mat = [[y ** j for j in range(n)] + [f(y)] for y in ys]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(mat[r][c]))
        mat[c], mat[p] = mat[p], mat[c]
        for r in range(n):
            if r != c:
                k = mat[r][c] / mat[c][c]
                mat[r] = [x - k * y for x, y in zip(mat[r], mat[c])]
    return [mat[i][n] / mat[i][i] for i in range(n)]


def horner(c, y):
    acc = 0.0
    for v in reversed(c):
        acc = acc * y + v
    return acc


def p_target(t):
    if t == 0:
        return 2 / math.sqrt(math.pi)
    x = math.sqrt(t)
    return math.erf(x) / x


def q_target(u):
    x = 2.5 + 1.5 * u
    return math.erfc(x) * math.exp(x * x)


for deg_p in (7, 8):
    p = cheb_interp(p_target, 0.0, 1.0, deg_p)
    err = max(abs(math.sqrt(i / 4000) * horner(p, i / 4000) - math.erf(math.sqrt(i / 4000))) for i in range(4001))
    print("P deg", deg_p, "max abs err", err)
    print("P =", [float.hex(v) for v in p] if False else p)
for deg_q in (10, 12, 14):
    q = cheb_interp(q_target, -1.0, 1.0, deg_q)
    err = 0.0
    for i in range(4001):
        x = 1 + 3 * i / 4000
        u = (x - 2.5) / 1.5
        err = max(err, abs(1 - math.exp(-x * x) * horner(q, u) - math.erf(x)))
    print("Q deg", deg_q, "max abs err", err)
    print("Q =", q)
