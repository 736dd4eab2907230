using SecureFed.Protocol;

namespace SecureFed.Coordinator;

/// <summary>
/// Which neighbour graph each secure round uses, and the bounds SecAgg+ is sized for (Bell et al., CCS 2020):
/// <see cref="Mode"/> "auto" (the complete graph below <see cref="SecureAggregationPlan.SecAggPlusFrom"/> silos,
/// SecAgg+ from there on), "complete" or "harary". The coordinator fixes the graph in each round's plan, for that
/// round's participants (<see cref="SecureAggregationPlan.WithGraphFor"/>), so the silos accept it with the plan hash.
/// </summary>
/// <remarks>
/// <para>The corruption bound used is the larger of <see cref="CorruptFraction"/> and the privacy plan's colluding
/// silos over the participants: a graph sized for fewer corrupt silos than the noise is calibrated for would let the
/// server with those colluders reconstruct a neighbourhood's secrets, which the noise calibration assumes it cannot.
/// <see cref="DropoutFraction"/> is SecAgg+'s own bound (each neighbourhood keeps t_N survivors except with
/// probability 2^-20); the round threshold t still bounds the survivors a round releases with.</para>
/// <para>Immutable and thread-safe.</para>
/// </remarks>
/// <param name="Mode">"auto", "complete" or "harary".</param>
/// <param name="CorruptFraction">γ: the fraction of silos assumed to collude with the server (default 5%).</param>
/// <param name="DropoutFraction">δ: the fraction of silos assumed to drop out of a round (default 10%).</param>
public sealed record SecAggGraphOptions(string Mode = SecAggGraphOptions.Auto, double CorruptFraction = 0.05, double DropoutFraction = 0.10)
{
    /// <summary>The <see cref="Mode"/> that picks SecAgg+ from <see cref="SecureAggregationPlan.SecAggPlusFrom"/> silos on.</summary>
    public const string Auto = "auto";

    /// <summary>The modes a configuration may name.</summary>
    public static IReadOnlyList<string> Modes { get; } = [Auto, SecureAggregationPlan.CompleteGraph, SecureAggregationPlan.HararyGraph];

    /// <summary>The default: auto, γ = 5%, δ = 10% (n = 300 gives k = 120, n = 1000 gives k = 128).</summary>
    public static SecAggGraphOptions Default { get; } = new();

    /// <summary><paramref name="template"/> with its graph fixed for <paramref name="participants"/> silos, its ring
    /// ordered by <paramref name="seed"/> (see <see cref="NewFederationSeed"/>; fresh randomness when empty).</summary>
    /// <exception cref="ProtocolViolationException">The bounds are out of range for this round (see <see cref="Validate"/>).</exception>
    public SecureAggregationPlan Apply(SecureAggregationPlan template, int participants, PrivacyPlan? privacy, ReadOnlySpan<byte> seed = default)
    {
        ArgumentNullException.ThrowIfNull(template);
        if (participants < 2)
        {
            // No graph to choose among fewer than two; the round cannot start anyway.
            return template.WithGraphFor(participants, SecureAggregationPlan.CompleteGraph, 0, 0);
        }

        var colluding = privacy is null ? 0.0 : (double)privacy.Colluding / participants;
        return template.WithGraphFor(participants, Mode, Math.Max(CorruptFraction, colluding), DropoutFraction, seed);
    }

    /// <summary>
    /// A graph seed for every round of one federation. The ring order is SHA-256(seed, id), so with one seed a silo
    /// keeps its neighbours from round to round (a silo leaving or joining moves only the neighbourhoods around its
    /// ring position, while k stays the same): its agent checks each neighbour's certificate and keys once, not
    /// every round. Privacy is unchanged or better: the per-round bounds of
    /// <see cref="Protocol.SecureAggregation.SecAggGraph.Choose"/> (no neighbourhood with t_N corrupt members, 2^-40)
    /// then hold for the federation once instead of being union-bounded over a fresh draw each round. Each round's
    /// keys and masks stay fresh; the seed is public (in every plan and its hash).
    /// </summary>
    public static byte[] NewFederationSeed() => Protocol.SecureAggregation.SecAggGraph.NewSeed();

    /// <summary>Throws <see cref="ArgumentException"/> naming the option (as the coordinator's configuration file
    /// spells it: SecAggGraph, SecAggCorruption, SecAggDropout), its value and the limit.</summary>
    public SecAggGraphOptions Validate()
    {
        if (!Modes.Contains(Mode))
        {
            throw new ArgumentException($"option SecAggGraph = '{Mode}' is invalid: must be {string.Join(", ", Modes)}");
        }

        if (!(CorruptFraction is >= 0 and < 1) || !(DropoutFraction is >= 0 and < 1) || CorruptFraction + DropoutFraction >= 1)
        {
            throw new ArgumentException(
                FormattableString.Invariant($"options SecAggCorruption = {CorruptFraction} and SecAggDropout = {DropoutFraction} are invalid: each must be within [0, 1) and their sum below 1"));
        }

        return this;
    }
}
