namespace SecureFed.Privacy;

/// <summary>The result of an RDP-to-(epsilon, delta) conversion.</summary>
/// <param name="Epsilon">The epsilon at the requested delta (never negative; +inf if no order gives a bound).</param>
/// <param name="Order">The Rényi order alpha at which the minimum was attained (NaN if none).</param>
/// <param name="OrderAtBoundary">True if the best order is the smallest or largest one offered; the bound might then
/// improve with a wider range of orders (Opacus warns in this case).</param>
public readonly record struct RdpEpsilon(double Epsilon, double Order, bool OrderAtBoundary);
