using System.Globalization;
using System.Text.Json;

namespace SecureFed.Studies.Internal;

/// <summary>
/// One JSON object of a study document: refuses unknown and repeated keys and reads typed values, each error naming
/// the key path.
/// </summary>
internal sealed class JsonObjectReader
{
    private readonly Dictionary<string, JsonElement> _values = new(StringComparer.Ordinal);

    public JsonObjectReader(JsonElement element, string path, string source, IReadOnlyCollection<string> allowed)
    {
        Path = path;
        Source = source;
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new StudyFormatException(source, path, $"expected an object, found {Describe(element)}");
        }

        foreach (var property in element.EnumerateObject())
        {
            if (!allowed.Contains(property.Name))
            {
                throw new StudyFormatException(source, PathOf(property.Name), $"unknown key; the keys allowed here are {string.Join(", ", allowed)}");
            }

            if (!_values.TryAdd(property.Name, property.Value))
            {
                throw new StudyFormatException(source, PathOf(property.Name), "appears twice; keep one");
            }
        }
    }

    public string Path { get; }

    public string Source { get; }

    public string PathOf(string key) => Path.Length == 0 ? key : $"{Path}.{key}";

    public bool Has(string key) => _values.ContainsKey(key);

    public string RequiredString(string key) => AsString(Required(key), PathOf(key));

    public JsonObjectReader RequiredObject(string key, IReadOnlyCollection<string> allowed) => new(Required(key), PathOf(key), Source, allowed);

    public JsonObjectReader? OptionalObject(string key, IReadOnlyCollection<string> allowed) =>
        _values.TryGetValue(key, out var value) ? new JsonObjectReader(value, PathOf(key), Source, allowed) : null;

    public List<string> RequiredStringArray(string key) => StringArray(Required(key), PathOf(key));

    public List<string>? OptionalStringArray(string key) =>
        _values.TryGetValue(key, out var value) ? StringArray(value, PathOf(key)) : null;

    public List<JsonObjectReader> RequiredObjectArray(string key, IReadOnlyCollection<string> allowed)
    {
        var path = PathOf(key);
        var array = Array(Required(key), path);
        return [.. array.Select((item, i) => new JsonObjectReader(item, $"{path}[{i}]", Source, allowed))];
    }

    public List<JsonObjectReader>? OptionalObjectArray(string key, IReadOnlyCollection<string> allowed) =>
        Has(key) ? RequiredObjectArray(key, allowed) : null;

    /// <summary>An integer or a list of integers, each in [min, max]; null when absent.</summary>
    public List<int>? OptionalIntList(string key, int min, int max)
    {
        if (!_values.TryGetValue(key, out var value))
        {
            return null;
        }

        var path = PathOf(key);
        if (value.ValueKind == JsonValueKind.Number)
        {
            return [IntOf(value, path, min, max)];
        }

        return [.. Array(value, path).Select((item, i) => IntOf(item, $"{path}[{i}]", min, max))];
    }

    public double OptionalDouble(string key, double fallback, double min, double max, string example)
    {
        var value = OptionalDouble(key, fallback);
        if (!(value >= min && value <= max))
        {
            throw new StudyFormatException(Source, PathOf(key), string.Create(CultureInfo.InvariantCulture, $"{value:R} is out of range; use a number from {min:R} to {max:R}, for example {example}"));
        }

        return value;
    }

    public string OptionalChoice(string key, string fallback, IReadOnlyList<string> choices)
    {
        if (!Has(key))
        {
            return fallback;
        }

        var value = RequiredString(key);
        return choices.Contains(value, StringComparer.Ordinal)
            ? value
            : throw new StudyFormatException(Source, PathOf(key), $"\"{TextSanitizer.Clip(value, 40)}\" is not one of {string.Join(", ", choices.Select(c => $"\"{c}\""))}; use one of them");
    }

    public int OptionalInt(string key, int fallback, int min, int max) =>
        _values.TryGetValue(key, out var value) ? IntOf(value, PathOf(key), min, max) : fallback;

    public double OptionalDouble(string key, double fallback)
    {
        if (!_values.TryGetValue(key, out var value))
        {
            return fallback;
        }

        if (value.ValueKind != JsonValueKind.Number)
        {
            throw new StudyFormatException(Source, PathOf(key), $"expected a number, found {Describe(value)}");
        }

        return value.GetDouble();
    }

    private int IntOf(JsonElement value, string path, int min, int max)
    {
        if (value.ValueKind != JsonValueKind.Number)
        {
            throw new StudyFormatException(Source, path, $"expected an integer, found {Describe(value)}");
        }

        if (!value.TryGetInt64(out var number))
        {
            throw new StudyFormatException(Source, path, $"{value.GetRawText()} is not an integer; write a whole number without a fraction or exponent");
        }

        if (number < min || number > max)
        {
            throw new StudyFormatException(Source, path, string.Create(CultureInfo.InvariantCulture, $"{number} is out of range; use an integer from {min} to {max}"));
        }

        return (int)number;
    }

    private JsonElement Required(string key) =>
        _values.TryGetValue(key, out var value)
            ? value
            : throw new StudyFormatException(Source, PathOf(key), "is required but missing; add it");

    private string AsString(JsonElement value, string path) =>
        value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new StudyFormatException(Source, path, $"expected a string, found {Describe(value)}");

    private JsonElement[] Array(JsonElement value, string path) =>
        value.ValueKind == JsonValueKind.Array
            ? [.. value.EnumerateArray()]
            : throw new StudyFormatException(Source, path, $"expected an array, found {Describe(value)}");

    private List<string> StringArray(JsonElement value, string path) =>
        [.. Array(value, path).Select((item, i) => AsString(item, $"{path}[{i}]"))];

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => $"the string \"{TextSanitizer.Clip(value.GetString()!, 40)}\"",
        JsonValueKind.Number => $"the number {TextSanitizer.Clip(value.GetRawText(), 40)}",
        JsonValueKind.True or JsonValueKind.False => $"the boolean {value.GetRawText()}",
        JsonValueKind.Null => "null",
        JsonValueKind.Undefined => "nothing",
        _ => throw new InvalidOperationException($"unknown JSON value kind {value.ValueKind}"),
    };
}
