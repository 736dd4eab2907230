using System.Security.Cryptography;

namespace SecureFed.Protocol.SecureAggregation;

/// <summary>Which communication graph a secure aggregation round uses.</summary>
public enum SecAggGraphKind
{
    /// <summary>Bonawitz et al. (CCS 2017): every client shares keys and masks with every other client.</summary>
    Complete,

    /// <summary>SecAgg+ (Bell et al., CCS 2020): a random Harary graph H(n, k); each client shares keys and masks
    /// only with its k neighbours.</summary>
    Harary,
}

/// <summary>
/// The neighbour graph of a round: the complete graph (Bonawitz et al., the default) or SecAgg+'s random Harary graph
/// H(n, k) (Bell et al., CCS 2020, section 3): the participants are placed on a ring in an order derived from a
/// 32-byte seed fixed in the plan, and each is joined to the k/2 nearest on either side, so every party and any
/// verifier computes the same k-regular graph. Each secret is shared t_N-of-(k+1) within its owner's closed
/// neighbourhood N[u] (u and its k neighbours).
/// </summary>
/// <remarks>
/// <para>Choosing k and t_N (<see cref="Choose"/>): with n clients, at most a fraction γ corrupt (colluding with
/// the server) and at most a fraction δ dropping out, Bell et al. (Theorem 3.6 and its lemmas) need, except with
/// probability 2^-σ (security) or 2^-η (correctness): (1) no honest client has t_N or more corrupt members in its
/// neighbourhood, else the server reconstructs both of its secrets; (2) every neighbourhood keeps t_N surviving
/// honest members, else a mask cannot be removed; (3) the graph stays connected after removing the corrupt and the
/// dropped clients, else the server learns partial sums of the parts. For the active (malicious-server) variant
/// with the consistency check we ask (1) more strictly: two signer sets of t_N in one neighbourhood overlap in
/// 2t_N - (k+1) members, so fewer than 2t_N - (k+1) corrupt neighbours means they share an honest client, who signs
/// one survivor set only (the neighbourhood form of Bonawitz et al.'s t &gt; 2n/3 rule). Corrupt and dropped
/// neighbours are counted as Binomial(k+1, γ) and Binomial(k+1, γ + δ) (an upper bound for sampling without
/// replacement), union-bounded over the n clients; (3) holds when no run of k/2 consecutive ring positions is all
/// corrupt or dropped, probability at most n·(γ+δ)^(k/2). The smallest even k with a t_N meeting all three is
/// taken; if k + 1 ≥ n the complete graph is used instead. With σ = 40, η = 20, γ = 0.05, δ = 0.1: n = 300 gives
/// k = 120, t_N = 77; n = 1000 gives k = 128, t_N = 82; n = 10^4 gives k = 138, t_N = 88 (k grows as log n).</para>
/// <para>Immutable and thread-safe.</para>
/// </remarks>
public sealed class SecAggGraph
{
    /// <summary>Length of the graph seed.</summary>
    public const int SeedSize = 32;

    /// <summary>Default statistical security parameter σ (failure probability 2^-σ for privacy).</summary>
    public const int DefaultSecurityBits = 40;

    /// <summary>Default correctness parameter η (probability 2^-η that a round aborts within its bounds).</summary>
    public const int DefaultCorrectnessBits = 20;

    private readonly byte[] _seed;

    private SecAggGraph(SecAggGraphKind kind, int degree, int neighbourhoodThreshold, byte[] seed)
    {
        Kind = kind;
        Degree = degree;
        NeighbourhoodThreshold = neighbourhoodThreshold;
        _seed = seed;
    }

    /// <summary>The complete graph (Bonawitz et al.).</summary>
    public static SecAggGraph Complete { get; } = new(SecAggGraphKind.Complete, 0, 0, []);

    /// <summary>Which graph.</summary>
    public SecAggGraphKind Kind { get; }

    /// <summary>k: neighbours per client (Harary only; 0 for the complete graph, where it is n - 1).</summary>
    public int Degree { get; }

    /// <summary>t_N: shares needed to reconstruct a secret within a neighbourhood (Harary only; 0 for the complete
    /// graph, where it is the round threshold).</summary>
    public int NeighbourhoodThreshold { get; }

    /// <summary>The seed that fixes the ring order (Harary only; empty for the complete graph). Not secret.</summary>
    public ReadOnlySpan<byte> Seed => _seed;

    /// <summary>A random Harary graph H(n, <paramref name="degree"/>) with threshold <paramref name="neighbourhoodThreshold"/>;
    /// checked against the participant count in <see cref="SecAggParameters.Create"/>.</summary>
    /// <exception cref="ArgumentException">The seed is not 32 bytes.</exception>
    public static SecAggGraph Harary(int degree, int neighbourhoodThreshold, ReadOnlySpan<byte> seed)
    {
        if (seed.Length != SeedSize)
        {
            throw new ArgumentException($"graph seed: {seed.Length} bytes given, must be {SeedSize}", nameof(seed));
        }

        return new SecAggGraph(SecAggGraphKind.Harary, degree, neighbourhoodThreshold, seed.ToArray());
    }

    /// <summary>A fresh random 32-byte graph seed, for a coordinator drafting a plan.</summary>
    public static byte[] NewSeed() => RandomNumberGenerator.GetBytes(SeedSize);

    /// <summary>
    /// The SecAgg+ graph for <paramref name="participants"/> clients under the corruption and dropout bounds (see the
    /// remarks), or <see cref="Complete"/> when the smallest sufficient neighbourhood is the whole consortium.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A fraction is outside [0, 1) or their sum is not below 1, or
    /// fewer than 2 participants.</exception>
    public static SecAggGraph Choose(
        int participants, double corruptFraction, double dropoutFraction, ReadOnlySpan<byte> seed,
        int securityBits = DefaultSecurityBits, int correctnessBits = DefaultCorrectnessBits)
    {
        var choice = ChooseDegree(participants, corruptFraction, dropoutFraction, securityBits, correctnessBits);
        return choice is { } c ? Harary(c.Degree, c.NeighbourhoodThreshold, seed) : Complete;
    }

    /// <summary>The smallest even k and its t_N meeting the three bounds of the remarks, or null when k + 1 would
    /// reach <paramref name="participants"/> (use the complete graph).</summary>
    /// <exception cref="ArgumentOutOfRangeException">As <see cref="Choose"/>.</exception>
    public static (int Degree, int NeighbourhoodThreshold)? ChooseDegree(
        int participants, double corruptFraction, double dropoutFraction,
        int securityBits = DefaultSecurityBits, int correctnessBits = DefaultCorrectnessBits)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(participants, 2);
        if (!(corruptFraction is >= 0 and < 1) || !(dropoutFraction is >= 0 and < 1) || corruptFraction + dropoutFraction >= 1)
        {
            throw new ArgumentOutOfRangeException(
                nameof(corruptFraction), $"corruption bound {corruptFraction} and dropout bound {dropoutFraction} must be in [0, 1) with a sum below 1");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(securityBits);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(correctnessBits);
        double logN = Math.Log(participants);
        double logSecurity = -securityBits * Math.Log(2);
        double logCorrectness = -correctnessBits * Math.Log(2);
        double lost = corruptFraction + dropoutFraction;
        var logFactorial = new double[participants + 1];
        for (int i = 1; i <= participants; i++)
        {
            logFactorial[i] = logFactorial[i - 1] + Math.Log(i);
        }

        for (int k = 2; k + 1 < participants; k += 2)
        {
            int m = k + 1;

            // (3) connectivity: n·(γ+δ)^(k/2) ≤ 2^-σ.
            if (lost > 0 && logN + (k / 2 * Math.Log(lost)) > logSecurity)
            {
                continue;
            }

            for (int t = (m / 2) + 1; t <= m; t++)
            {
                // (1) fewer than 2t - m corrupt in a neighbourhood; (2) at most m - t lost in a neighbourhood.
                if (logN + LogUpperTail(logFactorial, m, corruptFraction, (2 * t) - m) <= logSecurity
                    && logN + LogUpperTail(logFactorial, m, lost, m - t + 1) <= logCorrectness)
                {
                    return (k, t);
                }
            }
        }

        return null;
    }

    /// <summary>Prints the kind and numbers.</summary>
    public override string ToString() =>
        Kind == SecAggGraphKind.Complete ? "complete" : $"harary(k={Degree}, t={NeighbourhoodThreshold})";

    // log P[Binomial(m, p) >= a], summed in log space so small probabilities do not underflow to 0 too early.
    private static double LogUpperTail(double[] logFactorial, int m, double p, int a)
    {
        if (a <= 0)
        {
            return 0;
        }

        if (a > m || p <= 0)
        {
            return double.NegativeInfinity;
        }

        double max = double.NegativeInfinity;
        var terms = new double[m - a + 1];
        for (int i = a; i <= m; i++)
        {
            double term = logFactorial[m] - logFactorial[i] - logFactorial[m - i] + (i * Math.Log(p)) + ((m - i) * Math.Log(1 - p));
            terms[i - a] = term;
            max = Math.Max(max, term);
        }

        double sum = 0;
        foreach (double term in terms)
        {
            sum += Math.Exp(term - max);
        }

        return max + Math.Log(sum);
    }
}
