namespace SecureFed.Training.Internal;

/// <summary>
/// Seeded sampling for data handling (shuffles, Dirichlet proportions). Uses <see cref="Random"/> on purpose: this is
/// reproducible data partitioning, never privacy noise (that comes from a cryptographic generator elsewhere).
/// </summary>
internal static class Sampling
{
    /// <summary>Fisher-Yates shuffle in place.</summary>
    internal static void Shuffle<T>(Span<T> items, Random random)
    {
        for (var i = items.Length - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>A draw from the symmetric Dirichlet(alpha, ..., alpha) over <paramref name="k"/> components.</summary>
    internal static double[] SymmetricDirichlet(int k, double alpha, Random random)
    {
        var p = new double[k];
        var sum = 0.0;
        for (var i = 0; i < k; i++)
        {
            p[i] = Gamma(alpha, random);
            sum += p[i];
        }

        if (!(sum > 0) || !double.IsFinite(sum))
        {
            // Tiny alpha can underflow every Gamma draw to 0; the limit of Dirichlet(alpha -> 0) puts all mass on one
            // uniformly chosen component.
            Array.Clear(p);
            p[random.Next(k)] = 1.0;
            return p;
        }

        for (var i = 0; i < k; i++)
        {
            p[i] /= sum;
        }

        return p;
    }

    /// <summary>Gamma(shape, 1) by Marsaglia and Tsang (2000), with the U^(1/a) boost for shape &lt; 1.</summary>
    internal static double Gamma(double shape, Random random)
    {
        if (shape < 1.0)
        {
            var u = NextOpen(random);
            return Gamma(shape + 1.0, random) * Math.Pow(u, 1.0 / shape);
        }

        var d = shape - (1.0 / 3.0);
        var c = 1.0 / Math.Sqrt(9.0 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = StandardNormal(random);
                v = 1.0 + (c * x);
            }
            while (v <= 0);

            v = v * v * v;
            var u = NextOpen(random);
            if (Math.Log(u) < (0.5 * x * x) + d - (d * v) + (d * Math.Log(v)))
            {
                return d * v;
            }
        }
    }

    private static double StandardNormal(Random random)
    {
        // Box-Muller; one of the pair is enough here.
        var u1 = NextOpen(random);
        var u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>Uniform in (0, 1).</summary>
    private static double NextOpen(Random random)
    {
        double u;
        do
        {
            u = random.NextDouble();
        }
        while (u <= 0.0);

        return u;
    }
}
