namespace SecureFed.Privacy;

/// <summary>The privacy accountants this library provides; configuration names are "rdp", "exact" and "pld".</summary>
public enum AccountantKind
{
    /// <summary>
    /// Rényi DP of the (Poisson-)sampled Gaussian mechanism with Opacus' orders and conversion ("rdp").
    /// Valid for any sampling rate in (0, 1].
    /// </summary>
    Rdp = 0,

    /// <summary>
    /// Exact (epsilon, delta) curve of composed unsampled Gaussian mechanisms ("exact"). Only for sampling rate 1
    /// (every silo in every round); tighter than <see cref="Rdp"/> there.
    /// </summary>
    Exact = 1,

    /// <summary>
    /// Privacy loss distributions of the (Poisson-)sampled Gaussian mechanism composed by FFT, as Google's
    /// dp_accounting PLD accountant ("pld"). Valid for any sampling rate in (0, 1]; tighter than <see cref="Rdp"/>.
    /// </summary>
    Pld = 2,
}
