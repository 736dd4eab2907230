namespace SecureFed.Privacy.Internal;

/// <summary>Which neighbouring dataset the privacy loss is measured against (add/remove one record or silo).</summary>
internal enum PldAdjacency
{
    /// <summary>mu_upper = (1-q) N(0, s^2) + q N(-1, s^2) against mu_lower = N(0, s^2).</summary>
    Remove,

    /// <summary>mu_upper = N(0, s^2) against mu_lower = (1-q) N(0, s^2) + q N(1, s^2).</summary>
    Add,
}

/// <summary>
/// Privacy loss of the Poisson-subsampled Gaussian mechanism with sensitivity 1, standard deviation sigma and
/// sampling rate q, for one adjacency direction (the construction of dp_accounting's <c>GaussianPrivacyLoss</c>,
/// with the loss written in closed form), and its discretization by "connect the dots" (Doroshenko, Ghazi, Kamath,
/// Kumar, Manurangsi 2022, Algorithm 1): probability on the grid losses k * d chosen so that the discrete PLD's
/// hockey-stick curve equals the true one at every grid epsilon and lies above it in between, i.e. the discrete
/// PLD dominates the mechanism (pessimistic), and composition keeps the dominance.
/// The loss is decreasing in the output x: l(x) = log(1 - q + q e^{l0(x)}) with l0(x) = (-1/2 - x)/sigma^2 for
/// remove, and l_add(x) = -l_remove(-x).
/// </summary>
internal sealed class SampledGaussianPld
{
    /// <summary>log of the noise mass left outside the discretized range (dp_accounting's default, -50).</summary>
    public const double LogMassTruncationBound = -50.0;

    /// <summary>Phi^-1(e^-50 / 2): the standard normal quantile beyond which the tails are cut.</summary>
    private static readonly double TailQuantile = NormalQuantileOfLog(LogMassTruncationBound + Math.Log(0.5));

    private readonly double _sigma;
    private readonly double _q;
    private readonly PldAdjacency _adjacency;

    public SampledGaussianPld(double sigma, double q, PldAdjacency adjacency)
    {
        _sigma = sigma;
        _q = q;
        _adjacency = adjacency;
    }

    /// <summary>The loss range [at the upper x cut, at the lower x cut] that the discretization covers.</summary>
    public (double Lower, double Upper) LossRange()
    {
        double lowerX = _sigma * TailQuantile;
        double upperX = -lowerX;
        if (_adjacency == PldAdjacency.Add)
        {
            upperX += 1.0;
        }
        else
        {
            lowerX -= 1.0;
        }

        return (PrivacyLoss(upperX), PrivacyLoss(lowerX));
    }

    /// <summary>Number of grid points the discretization at <paramref name="interval"/> would have.</summary>
    public long GridPoints(double interval)
    {
        var (lower, upper) = LossRange();
        return (long)Math.Ceiling(upper / interval) - (long)Math.Floor(lower / interval) + 1;
    }

    /// <summary>The connect-the-dots PMF on multiples of <paramref name="interval"/>.</summary>
    public PldPmf Discretize(double interval)
    {
        var (lossLower, lossUpper) = LossRange();
        long first = (long)Math.Floor(lossLower / interval);
        long last = (long)Math.Ceiling(lossUpper / interval);
        int n = checked((int)(last - first + 1));
        var deltas = new double[n];
        for (int i = 0; i < n; i++)
        {
            deltas[i] = DeltaForEpsilon((first + i) * interval);
        }

        if (n == 1)
        {
            return new PldPmf(interval, first, [1.0 - deltas[0]], deltas[0]);
        }

        // delta(eps) is non-increasing; rounding must not make it otherwise.
        for (int i = 1; i < n; i++)
        {
            deltas[i] = Math.Min(deltas[i], deltas[i - 1]);
        }

        double expm1 = LogMath.Expm1(interval);
        double expD = Math.Exp(interval);
        var probs = new double[n];
        probs[0] = 1.0 - deltas[0] + ((deltas[1] - deltas[0]) / expm1);
        for (int i = 1; i < n - 1; i++)
        {
            probs[i] = ((deltas[i + 1] - deltas[i]) - (expD * (deltas[i] - deltas[i - 1]))) / expm1;
        }

        probs[n - 1] = (deltas[n - 1] - deltas[n - 2]) / LogMath.Expm1(-interval);
        for (int i = 0; i < n; i++)
        {
            probs[i] = Math.Max(0.0, probs[i]);
        }

        return new PldPmf(interval, first, probs, deltas[n - 1]);
    }

    /// <summary>Privacy loss log(mu_upper(x) / mu_lower(x)) at output x.</summary>
    public double PrivacyLoss(double x) =>
        _adjacency == PldAdjacency.Remove ? RemoveLoss(x) : -RemoveLoss(-x);

    /// <summary>
    /// The exact hockey-stick divergence delta(eps) = P_upper[l &gt; eps] - e^eps P_lower[l &gt; eps]: since the loss
    /// decreases in x, {l &gt;= eps} = {x &lt;= x(eps)} and both probabilities are normal CDFs.
    /// </summary>
    public double DeltaForEpsilon(double epsilon)
    {
        double delta;
        if (_adjacency == PldAdjacency.Remove)
        {
            if (_q < 1.0 && epsilon <= LogMath.Log1p(-_q))
            {
                // Every loss is above log(1 - q): delta = 1 - e^eps.
                return Math.Clamp(-LogMath.Expm1(epsilon), 0.0, 1.0);
            }

            double x = -0.5 - (UnsampledRemoveLoss(epsilon) * _sigma * _sigma);
            double upper = _q == 1.0
                ? ErrorFunction.NormalCdf((x + 1.0) / _sigma)
                : ((1.0 - _q) * ErrorFunction.NormalCdf(x / _sigma)) + (_q * ErrorFunction.NormalCdf((x + 1.0) / _sigma));
            delta = upper - Math.Exp(epsilon + ErrorFunction.LogNormalCdf(x / _sigma));
        }
        else
        {
            if (_q < 1.0 && epsilon >= -LogMath.Log1p(-_q))
            {
                // No loss reaches -log(1 - q).
                return 0.0;
            }

            double x = 0.5 - (UnsampledAddLoss(epsilon) * _sigma * _sigma);
            double logLower = _q == 1.0
                ? ErrorFunction.LogNormalCdf((x - 1.0) / _sigma)
                : LogMath.LogAdd(
                    LogMath.Log1p(-_q) + ErrorFunction.LogNormalCdf(x / _sigma),
                    Math.Log(_q) + ErrorFunction.LogNormalCdf((x - 1.0) / _sigma));
            delta = ErrorFunction.NormalCdf(x / _sigma) - Math.Exp(epsilon + logLower);
        }

        return double.IsNaN(delta) ? 1.0 : Math.Clamp(delta, 0.0, 1.0);
    }

    /// <summary>log(1 - q + q e^{l0}), l0 = (-1/2 - x)/sigma^2, without overflow or cancellation.</summary>
    private double RemoveLoss(double x)
    {
        double l0 = (-0.5 - x) / (_sigma * _sigma);
        if (_q == 1.0)
        {
            return l0;
        }

        return l0 > 0.0
            ? l0 + Math.Log(_q + ((1.0 - _q) * Math.Exp(-l0)))
            : LogMath.Log1p(_q * LogMath.Expm1(l0));
    }

    /// <summary>For remove: the unsampled loss l0 with log(1 - q + q e^{l0}) = eps, i.e. log(1 + (e^eps - 1)/q).</summary>
    private double UnsampledRemoveLoss(double epsilon)
    {
        if (_q == 1.0)
        {
            return epsilon;
        }

        return epsilon > 0.0
            ? epsilon - Math.Log(_q) + LogMath.Log1p(-(1.0 - _q) * Math.Exp(-epsilon))
            : LogMath.Log1p(LogMath.Expm1(epsilon) / _q);
    }

    /// <summary>For add: the unsampled add loss with -log(1 - q + q e^{-l0}) = eps, i.e. -log(1 + (e^-eps - 1)/q).</summary>
    private double UnsampledAddLoss(double epsilon)
    {
        if (_q == 1.0)
        {
            return epsilon;
        }

        double u = -epsilon;
        return u > 0.0
            ? -(u - Math.Log(_q) + LogMath.Log1p(-(1.0 - _q) * Math.Exp(-u)))
            : -LogMath.Log1p(LogMath.Expm1(u) / _q);
    }

    /// <summary>x with log Phi(x) = logP, by bisection on [-40, 0] (used once, for a constant).</summary>
    private static double NormalQuantileOfLog(double logP)
    {
        double lo = -40.0;
        double hi = 0.0;
        for (int i = 0; i < 200 && hi - lo > 1e-15; i++)
        {
            double mid = 0.5 * (lo + hi);
            if (ErrorFunction.LogNormalCdf(mid) < logP)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }
}
