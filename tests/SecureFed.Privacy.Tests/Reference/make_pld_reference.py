"""Regenerates the dp_accounting PLD reference numbers in PldAccountantTests (not run by CI).

Runs Google's dp_accounting (0.6.0, github.com/google/differential-privacy, python/dp_accounting, commit b5b0286e)
from its source tree with its defaults: PLDAccountant(value_discretization_interval=1e-4), i.e.
from_gaussian_mechanism(sampling_prob=q, pessimistic_estimate=True, use_connect_dots=True) self-composed, and the
worse of the add and remove directions. Rounds with q = 1 are a GaussianDpEvent (composed as one Gaussian).
Usage: PYTHONPATH=<checkout>/python/dp_accounting python3 make_pld_reference.py  (needs numpy, scipy, attrs,
mpmath, absl-py).

Output of the run that produced the test constants:
[(1.1, 0.004266666666666667, 14063)] 1e-05 pld=2.381779 rdp=2.596656
[(1.0, 0.01, 1000)] 1e-05 pld=1.828244 rdp=2.101367
[(1.0, 1.0, 100)] 1e-05 pld=91.817290 rdp=96.116308
[(5.0, 1.0, 10)] 1e-06 pld=2.921601 rdp=3.131090
[(1.1, 0.004266666666666667, 5000), (0.8, 0.01, 1000), (2.0, 1.0, 10), (1.5, 0.05, 200)] 1e-05 pld=8.920004 rdp=9.611068
[(0.7, 0.1, 50)] 1e-05 pld=10.706467 rdp=12.287641
[(2.0, 0.5, 30)] 1e-06 pld=7.948619 rdp=8.575056
[(1.0, 0.05, 100), (0.9, 0.02, 300), (2.0, 1.0, 5), (1.0, 0.05, 50)] 1e-05 pld=7.238249 rdp=7.903230
[(1.1, 0.004266666666666667, 2000), (2.0, 1.0, 4), (0.8, 0.01, 100)] 1e-05 pld=4.617102 rdp=5.019784
"""
from dp_accounting import dp_event
from dp_accounting.pld import pld_privacy_accountant
from dp_accounting.rdp import rdp_privacy_accountant


def run(history, delta):
    pld = pld_privacy_accountant.PLDAccountant()
    rdp = rdp_privacy_accountant.RdpAccountant()
    for z, q, n in history:
        event = (dp_event.PoissonSampledDpEvent(q, dp_event.GaussianDpEvent(z)) if q < 1
                 else dp_event.GaussianDpEvent(z))
        pld.compose(event, n)
        rdp.compose(event, n)
    print(history, delta, "pld=%.6f" % pld.get_epsilon(delta), "rdp=%.6f" % rdp.get_epsilon(delta))


run([(1.1, 256 / 60000, 14063)], 1e-5)
run([(1.0, 0.01, 1000)], 1e-5)
run([(1.0, 1.0, 100)], 1e-5)
run([(5.0, 1.0, 10)], 1e-6)
run([(1.1, 256 / 60000, 5000), (0.8, 0.01, 1000), (2.0, 1.0, 10), (1.5, 0.05, 200)], 1e-5)
run([(0.7, 0.1, 50)], 1e-5)
run([(2.0, 0.5, 30)], 1e-6)
run([(1.0, 0.05, 100), (0.9, 0.02, 300), (2.0, 1.0, 5), (1.0, 0.05, 50)], 1e-5)
run([(1.1, 256 / 60000, 2000), (2.0, 1.0, 4), (0.8, 0.01, 100)], 1e-5)
