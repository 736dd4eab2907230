using SecureFed.Crypto;
using SecureFed.Privacy;
using SecureFed.Protocol;

namespace SecureFed.Agent;

/// <summary>
/// What a silo does to its delta before it leaves: clip to the plan's L2 norm C, then add this silo's share of the
/// central noise (DESIGN section 4), drawn from a cryptographically secure source. The Gaussian mechanism adds
/// continuous noise; the discrete mechanism rounds stochastically to the 2^f grid and adds exact discrete Gaussian
/// noise in the integer domain (Canonne, Kamath, Steinke 2020). Stateless and thread-safe.
/// </summary>
public static class UpdatePrivatizer
{
    /// <summary>Returns a clipped, noised copy of <paramref name="delta"/>; the input is left untouched.</summary>
    public static float[] Apply(ReadOnlySpan<float> delta, PrivacyPlan plan, IRandomSource rng)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(rng);
        var update = delta.ToArray();
        L2Clipper.Clip(update, plan.ClipNorm);
        var sigma = PrivacyCharge.PerClientSigma(plan);
        switch (plan.Mechanism)
        {
            case "gaussian":
                GaussianNoise.AddNoise(update, sigma, rng);
                break;
            case "discrete-gaussian":
                AddDiscrete(update, sigma, plan.ScaleBits, rng);
                break;
            default:
                throw new PolicyRefusedException($"mechanism '{plan.Mechanism}' is not supported by this silo");
        }

        return update;
    }

    /// <summary>
    /// Privatizes a statistics or evaluation vector for release under <paramref name="plan"/>: clipped to the task's L2
    /// norm and noised with this silo's share z·C_task/sqrt(t - kappa) of continuous Gaussian noise. Returns a copy.
    /// </summary>
    public static double[] ApplyToRelease(ReadOnlySpan<double> vector, PrivacyPlan plan, SumTask task, IRandomSource rng)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(rng);
        var result = vector.ToArray();
        double norm = 0;
        foreach (var v in result)
        {
            norm += v * v;
        }

        norm = Math.Sqrt(norm);
        if (norm > task.ClipNorm)
        {
            var factor = task.ClipNorm / norm;
            for (var i = 0; i < result.Length; i++)
            {
                result[i] *= factor;
            }
        }

        var sigma = PrivacyCharge.PerClientSigma(plan with { ClipNorm = task.ClipNorm });
        var noise = new double[result.Length];
        GaussianNoise.Fill(noise, sigma, rng);
        for (var i = 0; i < result.Length; i++)
        {
            result[i] += noise[i];
        }

        return result;
    }

    private static void AddDiscrete(float[] update, double sigma, int scaleBits, IRandomSource rng)
    {
        var scale = Math.Pow(2, scaleBits);
        var sampler = DiscreteGaussianSampler.FromVariance(sigma * scale * sigma * scale);
        var noise = new long[update.Length];
        sampler.Fill(noise, rng);
        Span<byte> bytes = stackalloc byte[8];
        for (var i = 0; i < update.Length; i++)
        {
            var x = update[i] * scale;
            var floor = Math.Floor(x);
            rng.Fill(bytes);
            var u = (BitConverter.ToUInt64(bytes) >> 11) * (1.0 / (1UL << 53));
            var q = floor + (u < x - floor ? 1 : 0);
            update[i] = (float)((q + noise[i]) / scale);
        }
    }
}
