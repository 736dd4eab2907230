namespace SecureFed.Privacy.Internal;

/// <summary>RDP-to-(epsilon, delta) conversions over a list of orders.</summary>
internal static class RdpConversion
{
    /// <summary>
    /// The improved conversion of Balle, Barthe, Gaboardi, Hsu, Sato 2020 ("Hypothesis testing interpretations and
    /// Rényi differential privacy", Theorem 21), as in Opacus' <c>get_privacy_spent</c>:
    /// eps = min_a [RDP(a) + log((a-1)/a) - (log delta + log a)/(a-1)]. Orders whose value is NaN are ignored; if
    /// all are NaN the result is (+inf, NaN). One deliberate difference from Opacus: a negative minimum is
    /// reported as 0 (a negative epsilon carries no meaning), as dp_accounting does.
    /// </summary>
    public static RdpEpsilon Improved(ReadOnlySpan<double> orders, ReadOnlySpan<double> rdp, double delta)
    {
        double logDelta = Math.Log(delta);
        int best = -1;
        double bestEps = double.NaN;
        for (int i = 0; i < orders.Length; i++)
        {
            double a = orders[i];
            double eps = rdp[i] - ((logDelta + Math.Log(a)) / (a - 1.0)) + Math.Log((a - 1.0) / a);
            if (double.IsNaN(eps))
            {
                continue;
            }

            if (best < 0 || eps < bestEps)
            {
                best = i;
                bestEps = eps;
            }
        }

        return Result(orders, best, bestEps);
    }

    /// <summary>The classic conversion of Mironov 2017 (Proposition 3): eps = min_a [RDP(a) + log(1/delta)/(a-1)].</summary>
    public static RdpEpsilon Classic(ReadOnlySpan<double> orders, ReadOnlySpan<double> rdp, double delta)
    {
        double logDelta = Math.Log(delta);
        int best = -1;
        double bestEps = double.NaN;
        for (int i = 0; i < orders.Length; i++)
        {
            double eps = rdp[i] - (logDelta / (orders[i] - 1.0));
            if (double.IsNaN(eps))
            {
                continue;
            }

            if (best < 0 || eps < bestEps)
            {
                best = i;
                bestEps = eps;
            }
        }

        return Result(orders, best, bestEps);
    }

    private static RdpEpsilon Result(ReadOnlySpan<double> orders, int best, double bestEps)
    {
        if (best < 0)
        {
            return new RdpEpsilon(double.PositiveInfinity, double.NaN, false);
        }

        bool boundary = best == 0 || best == orders.Length - 1;
        return new RdpEpsilon(Math.Max(0.0, bestEps), orders[best], boundary);
    }
}
