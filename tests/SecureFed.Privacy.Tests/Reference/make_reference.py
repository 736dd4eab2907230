"""Regenerates the reference numbers hard-coded in the SecureFed.Privacy tests (not run by CI).

Everything here is computed from first principles with mpmath at 40-50 digits, independently of the C# code and
of Opacus: erfc and Phi directly, the RDP of the sampled Gaussian by numerical integration of its definition
A_alpha = E_{x ~ N(0, s^2)} [(1 - q + q exp((2x - 1) / (2 s^2)))^alpha], and the exact Gaussian curve by
bisection on the Balle-Wang formula.  Usage: python3 make_reference.py  (needs mpmath; takes about a minute).
"""
import mpmath as mp

mp.mp.dps = 50


def show(name, value):
    print(f"{name:40s} {mp.nstr(value, 20)}")


# Error function values (ErrorFunctionTests)
for x in ["0.5", "3", "10", "-1", "1e-10", "0.46875", "4", "4.5", "26", "-3", "0.1", "1.5"]:
    show(f"erfc({x})", mp.erfc(mp.mpf(x)))
for x in ["30", "1e5", "-2", "0.2", "5"]:
    show(f"erfcx({x})", mp.exp(mp.mpf(x) ** 2) * mp.erfc(mp.mpf(x)))
for x in ["30", "1000", "26.6", "5"]:
    show(f"log erfc({x})", mp.log(mp.erfc(mp.mpf(x))))
for x in ["-20", "-40", "-8", "-1", "0", "1.5"]:
    show(f"Phi({x})", mp.ncdf(mp.mpf(x)))
    show(f"log Phi({x})", mp.log(mp.ncdf(mp.mpf(x))))
show("1/sqrt(2) - double(1/sqrt(2))", 1 / mp.sqrt(2) - mp.mpf(0.7071067811865476))


# Exact Gaussian curve (ExactGaussianAccountantTests)
def delta_of(mu, eps):
    return mp.ncdf(-eps / mu + mu / 2) - mp.exp(eps) * mp.ncdf(-eps / mu - mu / 2)


def eps_of(mu, delta):
    lo, hi = mp.mpf(0), mp.mpf(1)
    while delta_of(mu, hi) > delta:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if delta_of(mu, mid) > delta:
            lo = mid
        else:
            hi = mid
    return hi


for z, d in [("0.5", "1e-5"), ("1", "1e-5"), ("2", "1e-5"), ("5", "1e-5"), ("0.05", "1e-10")]:
    show(f"eps z={z} delta={d}", eps_of(1 / mp.mpf(z), mp.mpf(d)))
show("delta z=1 eps=1", delta_of(mp.mpf(1), mp.mpf(1)))
show("delta z=0.8 eps=3", delta_of(1 / mp.mpf("0.8"), mp.mpf(3)))
show("eps mu=sqrt(1+1/4+1/9) 1e-5", eps_of(mp.sqrt(1 + mp.mpf(1) / 4 + mp.mpf(1) / 9), mp.mpf("1e-5")))
show("eps z=10 T=100 1e-6", eps_of(mp.mpf(1), mp.mpf("1e-6")))


# tau of Kairouz-Liu-Steinke (DiscreteGaussianAccountingTests)
def tau(sigma, n):
    sigma = mp.mpf(sigma)
    return 10 * mp.fsum(mp.exp(-2 * mp.pi ** 2 * sigma ** 2 * k / (k + 1)) for k in range(1, n))


show("tau(1, 10)", tau(1, 10))
show("tau(0.5, 100)", tau("0.5", 100))
show("tau(2, 1000)", tau(2, 1000))

# RDP of the sampled Gaussian by integration (RdpAccountantTests)
mp.mp.dps = 40


def rdp(q, s, a):
    q, s, a = mp.mpf(q), mp.mpf(s), mp.mpf(a)
    f = lambda x: mp.npdf(x, 0, s) * (1 - q + q * mp.exp((2 * x - 1) / (2 * s * s))) ** a
    return mp.log(mp.quad(f, [-mp.inf, -10 * s, 0, 10 * s, 20 * s, 40 * s, 80 * s, mp.inf])) / (a - 1)


for q, s, a in [(0.01, 1.0, 2), (0.01, 1.0, 2.5), (0.01, 1.0, 8), (0.01, 1.0, 8.3), (0.01, 1.0, 32),
                (256 / 60000, 1.1, 8.1), (256 / 60000, 1.1, 12), (0.1, 0.8, 1.5), (0.1, 0.8, 5.5),
                (0.5, 2.0, 3.7), (0.5, 2.0, 63)]:
    show(f"rdp q={q:.6g} s={s} a={a}", rdp(q, s, a))

orders = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64))
delta = mp.mpf("1e-5")
best = classic = None
for a in orders:
    r = rdp(256 / 60000, 1.1, a) * 14063
    am = mp.mpf(a)
    e = r - (mp.log(delta) + mp.log(am)) / (am - 1) + mp.log((am - 1) / am)
    c = r - mp.log(delta) / (am - 1)
    best = (e, a) if best is None or e < best[0] else best
    classic = (c, a) if classic is None or c < classic[0] else classic
show(f"MNIST improved eps (order {best[1]})", best[0])
show(f"MNIST classic eps (order {classic[1]})", classic[0])

best = None
for a in range(2, 33):
    r = rdp(1e-5, 1.0, a) * 10 + rdp(1e-4, 3.0, a) * 4
    am = mp.mpf(a)
    e = r - (mp.log(delta) + mp.log(am)) / (am - 1) + mp.log((am - 1) / am)
    best = (e, a) if best is None or e < best[0] else best
show(f"Opacus docstring example (order {best[1]})", best[0])
