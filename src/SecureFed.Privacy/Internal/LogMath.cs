namespace SecureFed.Privacy.Internal;

/// <summary>
/// Accurate log1p/expm1 and log-space addition/subtraction. <c>double.LogP1</c> and <c>double.ExpM1</c> in the BCL
/// are computed as <c>Log(1 + x)</c> and <c>Exp(x) - 1</c>, which lose all relative accuracy for small x, so they
/// are not used here.
/// </summary>
internal static class LogMath
{
    /// <summary>log(1 + x), accurate to a few ulps for all x &gt; -1 (Goldberg's correction, "What every computer
    /// scientist should know about floating-point arithmetic", Theorem 4).</summary>
    public static double Log1p(double x)
    {
        if (double.IsNaN(x) || x < -1.0)
        {
            return double.NaN;
        }

        if (x == -1.0)
        {
            return double.NegativeInfinity;
        }

        if (x > 1e300)
        {
            return Math.Log(x);
        }

        double u = 1.0 + x;
        if (u == 1.0)
        {
            return x;
        }

        // u - 1 is exact; the ratio x / (u - 1) corrects the rounding of 1 + x.
        return Math.Log(u) * x / (u - 1.0);
    }

    /// <summary>exp(x) - 1, accurate to a few ulps (Kahan's correction).</summary>
    public static double Expm1(double x)
    {
        if (double.IsNaN(x))
        {
            return double.NaN;
        }

        if (x > 700.0)
        {
            return Math.Exp(x);
        }

        double u = Math.Exp(x);
        if (u == 1.0)
        {
            return x;
        }

        double um1 = u - 1.0;
        if (um1 == -1.0)
        {
            return -1.0;
        }

        return um1 * x / Math.Log(u);
    }

    /// <summary>log(exp(a) + exp(b)); -inf stands for zero.</summary>
    public static double LogAdd(double a, double b)
    {
        double lo = Math.Min(a, b);
        double hi = Math.Max(a, b);
        if (double.IsNegativeInfinity(lo))
        {
            return hi;
        }

        if (double.IsPositiveInfinity(hi))
        {
            return hi;
        }

        return Log1p(Math.Exp(lo - hi)) + hi;
    }

    /// <summary>
    /// log(exp(a) - exp(b)) for a &gt;= b; returns false (and NaN) when the difference would be negative.
    /// </summary>
    public static bool TryLogSub(double a, double b, out double result)
    {
        if (double.IsNaN(a) || double.IsNaN(b) || a < b)
        {
            result = double.NaN;
            return false;
        }

        if (double.IsNegativeInfinity(b))
        {
            result = a;
            return true;
        }

        if (a == b)
        {
            result = double.NegativeInfinity;
            return true;
        }

        double d = a - b;
        // For small d, log(expm1(d)) keeps full relative accuracy; for large d, log1p(-exp(-d)) does and never
        // overflows.
        result = d < 0.6931471805599453
            ? Math.Log(Expm1(d)) + b
            : a + Log1p(-Math.Exp(-d));
        return true;
    }
}
