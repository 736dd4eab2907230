using System.Globalization;

namespace SecureFed.Privacy.Internal;

/// <summary>
/// Argument checks shared by the public surface. Every message names the parameter, its value and the allowed
/// range, so a misconfigured round plan can be fixed from the message alone.
/// </summary>
internal static class Guard
{
    public static void Delta(double delta, string name)
    {
        if (!(delta > 0.0 && delta < 1.0))
        {
            throw OutOfRange(name, delta, "(0, 1)");
        }
    }

    public static void NoiseMultiplier(double z, string name)
    {
        if (!(z > 0.0) || double.IsInfinity(z))
        {
            throw OutOfRange(name, z, "(0, +inf) (finite and positive)");
        }
    }

    public static void SamplingRate(double q, string name)
    {
        if (!(q > 0.0 && q <= 1.0))
        {
            throw OutOfRange(name, q, "(0, 1]");
        }
    }

    public static void Steps(int steps, string name)
    {
        if (steps < 1)
        {
            throw OutOfRange(name, steps, "[1, 2147483647]");
        }
    }

    public static void PositiveFinite(double value, string name)
    {
        if (!(value > 0.0) || double.IsInfinity(value))
        {
            throw OutOfRange(name, value, "(0, +inf) (finite and positive)");
        }
    }

    public static void NonNegativeFinite(double value, string name)
    {
        if (!(value >= 0.0) || double.IsInfinity(value))
        {
            throw OutOfRange(name, value, "[0, +inf) (finite)");
        }
    }

    public static void History(IReadOnlyList<(double z, double q, int steps)> history, string name)
    {
        ArgumentNullException.ThrowIfNull(history, name);
        for (int i = 0; i < history.Count; i++)
        {
            var (z, q, steps) = history[i];
            bool zOk = z > 0.0 && !double.IsInfinity(z);
            bool qOk = q > 0.0 && q <= 1.0;
            if (zOk && qOk && steps >= 1)
            {
                continue;
            }

            // Only a bad entry pays for formatting its name.
            string at = string.Create(CultureInfo.InvariantCulture, $"{name}[{i}]");
            NoiseMultiplier(z, at + ".z");
            SamplingRate(q, at + ".q");
            Steps(steps, at + ".steps");
        }
    }

    public static ArgumentOutOfRangeException OutOfRange(string name, double value, string range) =>
        new(name, value, string.Create(CultureInfo.InvariantCulture, $"{name} must be in {range}; got {Format(value)}."));

    public static ArgumentOutOfRangeException OutOfRange(string name, long value, string range) =>
        new(name, value, string.Create(CultureInfo.InvariantCulture, $"{name} must be in {range}; got {value}."));

    public static ArgumentOutOfRangeException OutOfRangeWithMessage(string name, object value, string message) =>
        new(name, value, message);

    public static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
