using System.Globalization;
using SecureFed.Protocol;

namespace SecureFed.Coordinator.Internal;

/// <summary>
/// What a sum of honest inputs can look like (issue 12, item 2), checked before anything is released. Every honest silo
/// clamps each value it sends to the task's bound, so no coordinate of a sum over n silos exceeds n times that bound;
/// under differential privacy every honest vector is clipped to the task's clip norm C and carries Gaussian noise, so
/// the sum's L2 norm is at most n·C plus the noise (bounded at its mean plus 8 standard deviations of its norm, which an
/// honest sum exceeds with probability below 1e-14) plus the rounding of the fixed-point encoding. A member that adds
/// an arbitrary value modulo 2^k is caught when the result leaves these bounds; one that stays inside them (a bias of up
/// to the bounds) is not, and which member it was cannot be told from the sum. Stateless.
/// </summary>
internal static class AggregateBounds
{
    /// <summary>Standard deviations of the noise norm allowed above its mean.</summary>
    public const double NoiseSigmas = 8;

    /// <summary>Null when <paramref name="sum"/> could be the sum of <paramref name="contributors"/> honest vectors of <paramref name="task"/>; else why not.</summary>
    public static string? Check(SumTask task, PrivacyPlan? dp, int contributors, ReadOnlySpan<double> sum)
    {
        var rounding = contributors * Math.Pow(2, -task.ScaleBits);
        var limit = (contributors * task.MaxAbsValue) + rounding;
        for (var i = 0; i < sum.Length; i++)
        {
            if (!double.IsFinite(sum[i]) || Math.Abs(sum[i]) > limit)
            {
                return string.Create(CultureInfo.InvariantCulture, $"value {i} is {sum[i]:G6}, beyond the {limit:G6} that {contributors} silos clamping to {task.MaxAbsValue:G6} can reach");
            }
        }

        if (dp is null || task.ClipNorm <= 0)
        {
            return null;
        }

        var norm = Math.Sqrt(SumOfSquares(sum));
        var bound = NormBound(task, dp, contributors, sum.Length);
        return norm <= bound
            ? null
            : string.Create(CultureInfo.InvariantCulture, $"its L2 norm is {norm:G6}, above the {bound:G6} that {contributors} clipped, noised inputs can reach (clip {task.ClipNorm:G4})");
    }

    /// <summary>
    /// Null when <paramref name="upload"/> could be one honest silo's plain upload of <paramref name="task"/>: finite and,
    /// under differential privacy, within the norm one clipped, noised vector reaches (plain uploads are not clamped).
    /// </summary>
    public static string? CheckUpload(SumTask task, PrivacyPlan? dp, ReadOnlySpan<float> upload)
    {
        if (FloatVectors.FirstNonFinite(upload) is var bad and >= 0)
        {
            return string.Create(CultureInfo.InvariantCulture, $"value {bad} is not a finite number");
        }

        if (dp is null || task.ClipNorm <= 0)
        {
            return null;
        }

        var norm = Math.Sqrt(FloatVectors.SumOfSquares(upload));
        var bound = NormBound(task, dp, 1, upload.Length);
        return norm <= bound
            ? null
            : string.Create(CultureInfo.InvariantCulture, $"its L2 norm is {norm:G6}, above the {bound:G6} one clipped, noised update can reach (clip {task.ClipNorm:G4})");
    }

    /// <summary>The largest L2 norm a sum of <paramref name="contributors"/> honest, clipped and noised vectors reaches (see the class).</summary>
    public static double NormBound(SumTask task, PrivacyPlan dp, int contributors, int dimension)
    {
        var perSilo = PrivacyCharge.PerClientSigma(dp with { ClipNorm = task.ClipNorm });
        var sigma = perSilo * Math.Sqrt(contributors);
        var rounding = Math.Sqrt(dimension) * contributors * Math.Pow(2, -task.ScaleBits);
        return (contributors * task.ClipNorm) + (sigma * (Math.Sqrt(dimension) + NoiseSigmas)) + rounding;
    }

    private static double SumOfSquares(ReadOnlySpan<double> v)
    {
        double s = 0;
        foreach (var x in v)
        {
            s += x * x;
        }

        return s;
    }
}
