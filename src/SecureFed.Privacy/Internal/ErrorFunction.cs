namespace SecureFed.Privacy.Internal;

/// <summary>
/// erf, erfc, the scaled erfcx(x) = exp(x^2) erfc(x), log erfc and the standard normal CDF. The core is W. J. Cody's
/// rational Chebyshev approximations ("Rational Chebyshev approximations for the error function", Math. Comp. 23
/// (1969) 631-638; coefficients as in his SPECFUN routine CALERF), good to about 1e-16 relative in double
/// precision, including the far tail: exp(-x^2) is formed as exp(-s^2) exp(-(x-s)(x+s)) with s = x rounded down
/// to 1/16, so no precision is lost in x^2. <see cref="LogErfc"/> switches to -x^2 + log erfcx(x) before erfc
/// underflows, which is the accurate large-x evaluation the RDP series needs.
/// </summary>
internal static class ErrorFunction
{
    private const double Threshold = 0.46875;
    private const double XSmall = 1.11e-16;
    private const double XBig = 26.543;
    private const double XHuge = 6.71e7;
    private const double XMax = 2.53e307;
    private const double XNeg = -26.628;
    private const double OneOverSqrtPi = 0.56418958354775628695;

    /// <summary>1/sqrt(2) rounded to double, and the remainder 1/sqrt(2) - that double.</summary>
    private const double InvSqrt2Hi = 0.7071067811865476;
    private const double InvSqrt2Lo = -4.8336466567264565e-17;

    // erf on [0, 0.46875]
    private static readonly double[] A =
    [3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02, 3.20937758913846947e03, 1.85777706184603153e-1];

    private static readonly double[] B =
    [2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03, 2.84423683343917062e03];

    // erfcx on [0.46875, 4]
    private static readonly double[] C =
    [
        5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01, 2.98635138197400131e02,
        8.81952221241769090e02, 1.71204761263407058e03, 2.05107837782607147e03, 1.23033935479799725e03,
        2.15311535474403846e-8,
    ];

    private static readonly double[] D =
    [
        1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02, 1.62138957456669019e03,
        3.29079923573345963e03, 4.36261909014324716e03, 3.43936767414372164e03, 1.23033935480374942e03,
    ];

    // erfcx on (4, inf)
    private static readonly double[] P =
    [
        3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1, 1.60837851487422766e-2,
        6.58749161529837803e-4, 1.63153871373020978e-2,
    ];

    private static readonly double[] Q =
    [2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1, 6.05183413124413191e-2, 2.33520497626869185e-3];

    private enum Kind
    {
        Erf,
        Erfc,
        Erfcx,
    }

    public static double Erf(double x) => Evaluate(x, Kind.Erf);

    public static double Erfc(double x) => Evaluate(x, Kind.Erfc);

    public static double Erfcx(double x) => Evaluate(x, Kind.Erfcx);

    /// <summary>log(erfc(x)), finite for every finite x.</summary>
    public static double LogErfc(double x)
    {
        if (double.IsNaN(x))
        {
            return double.NaN;
        }

        if (x < 25.0)
        {
            return Math.Log(Erfc(x));
        }

        return -(x * x) + Math.Log(Erfcx(x));
    }

    /// <summary>The standard normal CDF Phi(x) = erfc(-x/sqrt 2)/2, with full relative accuracy in the lower tail.</summary>
    public static double NormalCdf(double x)
    {
        if (double.IsNaN(x))
        {
            return double.NaN;
        }

        SplitScaledArgument(x, out double hi, out double lo);
        double value = 0.5 * Erfc(hi);
        return value * (1.0 - TailCorrection(hi, lo));
    }

    /// <summary>log Phi(x), finite for every finite x.</summary>
    public static double LogNormalCdf(double x)
    {
        if (double.IsNaN(x))
        {
            return double.NaN;
        }

        SplitScaledArgument(x, out double hi, out double lo);
        return -0.6931471805599453 + LogErfc(hi) - TailCorrection(hi, lo);
    }

    /// <summary>
    /// -x/sqrt(2) as an unevaluated sum hi + lo, so that the rounding of the division (relative 1e-16, but amplified
    /// by 2 t^2 in erfc(t)) can be corrected: Phi(-20) is then right to the last digits rather than to 4e-14.
    /// </summary>
    private static void SplitScaledArgument(double x, out double hi, out double lo)
    {
        double nx = -x;
        hi = nx * InvSqrt2Hi;
        lo = Math.FusedMultiplyAdd(nx, InvSqrt2Hi, -hi) + (nx * InvSqrt2Lo);
    }

    /// <summary>First-order change of log erfc between hi and hi + lo: d/dt log erfc(t) = -2/(sqrt(pi) erfcx(t)).</summary>
    private static double TailCorrection(double hi, double lo)
    {
        double scaled = Erfcx(hi);
        if (double.IsInfinity(scaled) || scaled == 0.0)
        {
            return 0.0;
        }

        return 2.0 * OneOverSqrtPi * lo / scaled;
    }

    private static double Evaluate(double x, Kind kind)
    {
        if (double.IsNaN(x))
        {
            return double.NaN;
        }

        double y = Math.Abs(x);
        double result;
        if (y <= Threshold)
        {
            double ysq = y > XSmall ? y * y : 0.0;
            double xnum = A[4] * ysq;
            double xden = ysq;
            for (int i = 0; i < 3; i++)
            {
                xnum = (xnum + A[i]) * ysq;
                xden = (xden + B[i]) * ysq;
            }

            result = x * (xnum + A[3]) / (xden + B[3]);
            return kind switch
            {
                Kind.Erf => result,
                Kind.Erfc => 1.0 - result,
                Kind.Erfcx => Math.Exp(ysq) * (1.0 - result),
                _ => throw new InvalidOperationException("unknown error-function kind"),
            };
        }

        if (y <= 4.0)
        {
            double xnum = C[8] * y;
            double xden = y;
            for (int i = 0; i < 7; i++)
            {
                xnum = (xnum + C[i]) * y;
                xden = (xden + D[i]) * y;
            }

            result = (xnum + C[7]) / (xden + D[7]);
            if (kind != Kind.Erfcx)
            {
                result *= ExpMinusSquare(y);
            }
        }
        else
        {
            result = 0.0;
            bool done = false;
            if (y >= XBig)
            {
                if (kind != Kind.Erfcx || y >= XMax)
                {
                    done = true;
                }
                else if (y >= XHuge)
                {
                    result = OneOverSqrtPi / y;
                    done = true;
                }
            }

            if (!done)
            {
                double ysq = 1.0 / (y * y);
                double xnum = P[5] * ysq;
                double xden = ysq;
                for (int i = 0; i < 4; i++)
                {
                    xnum = (xnum + P[i]) * ysq;
                    xden = (xden + Q[i]) * ysq;
                }

                result = ysq * (xnum + P[4]) / (xden + Q[4]);
                result = (OneOverSqrtPi - result) / y;
                if (kind != Kind.Erfcx)
                {
                    result *= ExpMinusSquare(y);
                }
            }
        }

        switch (kind)
        {
            case Kind.Erf:
                result = (0.5 - result) + 0.5;
                return x < 0 ? -result : result;
            case Kind.Erfc:
                return x < 0 ? 2.0 - result : result;
            case Kind.Erfcx:
                if (x >= 0)
                {
                    return result;
                }

                if (x < XNeg)
                {
                    return double.PositiveInfinity;
                }

                double s = Math.Truncate(x * 16.0) / 16.0;
                double del = (x - s) * (x + s);
                double e = Math.Exp(s * s) * Math.Exp(del);
                return (e + e) - result;
            default:
                throw new InvalidOperationException("unknown error-function kind");
        }
    }

    /// <summary>exp(-y^2) without the rounding error of y*y: s = trunc(16 y)/16 makes s*s exact.</summary>
    private static double ExpMinusSquare(double y)
    {
        double s = Math.Truncate(y * 16.0) / 16.0;
        double del = (y - s) * (y + s);
        return Math.Exp(-s * s) * Math.Exp(-del);
    }
}
