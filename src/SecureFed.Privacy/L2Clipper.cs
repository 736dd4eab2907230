using System.Globalization;
using SecureFed.Privacy.Internal;

namespace SecureFed.Privacy;

/// <summary>The outcome of clipping: the L2 norm before clipping and the factor that was applied.</summary>
/// <param name="OriginalNorm">L2 norm of the input, computed in double precision.</param>
/// <param name="Factor">The scale applied, min(1, C / norm) (slightly less if float rounding required it).</param>
public readonly record struct ClipResult(double OriginalNorm, double Factor)
{
    /// <summary>True if the update was scaled down.</summary>
    public bool WasClipped => Factor < 1.0;
}

/// <summary>
/// L2 clipping of a model update to norm C (the per-silo sensitivity bound of DESIGN.md section 4). Stateless and
/// thread-safe; the span is modified in place.
/// </summary>
public static class L2Clipper
{
    /// <summary>
    /// Scales <paramref name="update"/> by min(1, C/||update||) in place. The result's L2 norm, computed in double
    /// precision, is guaranteed to be at most <paramref name="clipNorm"/> (the factor is nudged down if float
    /// rounding of the scaled coordinates would exceed it).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">clipNorm is not finite and positive.</exception>
    /// <exception cref="ArgumentException">The update contains NaN or an infinity.</exception>
    public static ClipResult Clip(Span<float> update, double clipNorm)
    {
        Guard.PositiveFinite(clipNorm, nameof(clipNorm));
        for (int i = 0; i < update.Length; i++)
        {
            if (!float.IsFinite(update[i]))
            {
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"update[{i}] is {update[i]}; every coordinate must be finite."),
                    nameof(update));
            }
        }

        double norm = Norm(update);
        if (norm <= clipNorm)
        {
            return new ClipResult(norm, 1.0);
        }

        double factor = clipNorm / norm;
        Scale(update, factor);
        double applied = factor;
        // Each float product may round up by half an ulp; shrink by a few ulps until the bound holds exactly.
        for (int attempt = 0; Norm(update) > clipNorm; attempt++)
        {
            if (attempt > 64)
            {
                throw new InvalidOperationException("clipping failed to bring the norm under the bound");
            }

            const double Shrink = 1.0 - (4.0 * 1.1920928955078125e-7);
            Scale(update, Shrink);
            applied *= Shrink;
        }

        return new ClipResult(norm, applied);
    }

    /// <summary>The L2 norm of <paramref name="values"/>, accumulated in double precision.</summary>
    public static double Norm(ReadOnlySpan<float> values)
    {
        double sum = 0.0;
        foreach (float v in values)
        {
            sum += (double)v * v;
        }

        return Math.Sqrt(sum);
    }

    private static void Scale(Span<float> update, double factor)
    {
        for (int i = 0; i < update.Length; i++)
        {
            update[i] = (float)(update[i] * factor);
        }
    }
}
