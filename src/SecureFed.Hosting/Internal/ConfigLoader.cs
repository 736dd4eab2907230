using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;

namespace SecureFed.Hosting.Internal;

/// <summary>
/// Loads one section of a JSON configuration file, overridden by <c>SECUREFED_Section__Name</c> environment variables,
/// into an options class. Before binding, every key is checked against the class: a key it does not have, a value of the
/// wrong type or a file that is not JSON is an <see cref="InvalidDataException"/> whose one line names the file (or the
/// variable), the key, and the valid keys with the nearest one as a suggestion; a file that is not JSON gives its line
/// and the parser's reason. Stateless and thread-safe.
/// </summary>
internal static partial class ConfigLoader
{
    /// <summary>Prefix of the environment variables that override a configuration file.</summary>
    public const string EnvironmentPrefix = "SECUREFED_";

    // The same leniency as Microsoft.Extensions.Configuration.Json, so a file this check accepts is one the provider reads.
    private static readonly JsonDocumentOptions JsonOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    public static T Load<T>(string path, string section, Action<T, string> resolve)
        where T : new()
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            throw new InvalidDataException($"configuration file {full} is a directory; --config names the JSON file");
        }

        if (!File.Exists(full))
        {
            throw new FileNotFoundException($"configuration file {full} does not exist", full);
        }

        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(full);
        }
        catch (UnauthorizedAccessException)
        {
            throw new InvalidDataException($"configuration file {full} cannot be read by this user; check its owner and mode");
        }

        using (var document = Parse(full, bytes))
        {
            CheckFile<T>(full, document.RootElement, section);
        }

        CheckEnvironment<T>(section);
        var configuration = new ConfigurationBuilder()
            .AddJsonStream(new MemoryStream(bytes, writable: false))
            .AddEnvironmentVariables(EnvironmentPrefix)
            .Build();
        T value;
        try
        {
            value = configuration.GetSection(section).Get<T>(o => o.ErrorOnUnknownConfiguration = true) ?? new T();
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException)
        {
            // The checks above should have caught it; still one line naming the file rather than a binder trace.
            throw new InvalidDataException($"{full}: {ex.Message}", ex);
        }

        resolve(value, Path.GetDirectoryName(full)!);
        return value;
    }

    public static string Resolve(string directory, string path) =>
        string.IsNullOrEmpty(path) ? path : Path.GetFullPath(Path.IsPathRooted(path) ? path : Path.Combine(directory, path));

    /// <summary>The nearest of <paramref name="candidates"/> to a mistyped <paramref name="name"/>, or null when none is close.</summary>
    public static string? Suggest(string name, IEnumerable<string> candidates)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in candidates)
        {
            var d = Distance(name.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (d < bestDistance)
            {
                (best, bestDistance) = (candidate, d);
            }
        }

        // A third of the name, at least one edit and at most three: "Seconds" for "Second", not "Seed" for "Study".
        return best is not null && bestDistance <= Math.Clamp(name.Length / 3, 1, 3) ? best : null;
    }

    private static JsonDocument Parse(string file, byte[] bytes)
    {
        try
        {
            return JsonDocument.Parse(bytes, JsonOptions);
        }
        catch (JsonException ex)
        {
            var line = (ex.LineNumber ?? 0) + 1;
            var column = (ex.BytePositionInLine ?? 0) + 1;
            var reason = PositionSuffix().Replace(ex.Message, "").TrimEnd('.', ' ');
            throw new InvalidDataException($"{file} line {line}, column {column}: not valid JSON: {reason}", ex);
        }
    }

    private static void CheckFile<T>(string file, JsonElement root, string section)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"{file}: the top level must be a JSON object with a \"{section}\" section, not {Describe(root.ValueKind)}");
        }

        JsonElement? body = null;
        var topLevel = new List<string>();
        foreach (var property in root.EnumerateObject())
        {
            topLevel.Add(property.Name);
            if (string.Equals(property.Name, section, StringComparison.OrdinalIgnoreCase))
            {
                body = property.Value;
            }
        }

        if (body is not { } b)
        {
            var hint = Suggest(section, topLevel) is { } near ? $"; did you mean \"{near}\"?" : "";
            var found = topLevel.Count == 0 ? "the file is an empty object" : $"top-level keys found: {string.Join(", ", topLevel)}";
            throw new InvalidDataException($"{file}: no \"{section}\" section{hint} ({found})");
        }

        CheckElement(typeof(T), b, section, file);
    }

    private static void CheckElement(Type type, JsonElement element, string key, string where)
    {
        if (element.ValueKind == JsonValueKind.Null)
        {
            return; // the provider reads null as "no value": the default stays
        }

        if (IsList(type, out var itemType))
        {
            if (element.ValueKind != JsonValueKind.Array)
            {
                throw new InvalidDataException($"{where}: key \"{key}\" must be a list (a JSON array [...]), not {Describe(element.ValueKind)}");
            }

            var i = 0;
            foreach (var item in element.EnumerateArray())
            {
                CheckElement(itemType, item, $"{key}:{i++}", where);
            }

            return;
        }

        if (IsSection(type))
        {
            if (element.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{where}: key \"{key}\" must be a section (a JSON object {{...}}) with keys {ValidKeys(type)}, not {Describe(element.ValueKind)}");
            }

            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var property in element.EnumerateObject())
            {
                var child = $"{key}:{property.Name}";
                if (!seen.Add(property.Name))
                {
                    throw new InvalidDataException($"{where}: key \"{child}\" appears twice (keys are case-insensitive)");
                }

                CheckElement(Member(type, property.Name, child, where).PropertyType, property.Value, child, where);
            }

            return;
        }

        var text = element.ValueKind switch
        {
            JsonValueKind.String => element.GetString()!,
            JsonValueKind.Number => element.GetRawText(),
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            _ => throw new InvalidDataException($"{where}: key \"{key}\" must be {Expected(type)}, not {Describe(element.ValueKind)}"),
        };
        CheckValue(type, text, key, where);
    }

    private static void CheckEnvironment<T>(string section)
    {
        var prefix = EnvironmentPrefix + section + "__";
        foreach (DictionaryEntry variable in Environment.GetEnvironmentVariables())
        {
            var name = (string)variable.Key;
            if (!name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                continue; // another section's, or a switch such as SECUREFED_DEBUG
            }

            var where = $"environment variable {name}";
            var segments = name[EnvironmentPrefix.Length..].Split("__");
            var type = typeof(T);
            var key = new StringBuilder(segments[0]);
            for (var i = 1; i < segments.Length; i++)
            {
                key.Append(':').Append(segments[i]);
                if (IsList(type, out var itemType))
                {
                    if (!int.TryParse(segments[i], NumberStyles.None, CultureInfo.InvariantCulture, out _))
                    {
                        throw new InvalidDataException($"{where}: \"{key}\" indexes a list, which takes 0, 1, 2... (e.g. {prefix}{string.Join("__", segments[1..i])}__0)");
                    }

                    type = itemType;
                    continue;
                }

                if (!IsSection(type))
                {
                    throw new InvalidDataException($"{where}: key \"{key}\" goes below \"{string.Join(':', segments[..i])}\", which is {Expected(type)}, not a section");
                }

                type = Member(type, segments[i], key.ToString(), where).PropertyType;
            }

            if (IsSection(type) || IsList(type, out _))
            {
                throw new InvalidDataException($"{where}: key \"{key}\" is a {(IsSection(type) ? "section" : "list")}; set one of its keys ({(IsSection(type) ? ValidKeys(type) : "__0, __1, ...")})");
            }

            CheckValue(type, (string?)variable.Value ?? "", key.ToString(), where);
        }
    }

    private static PropertyInfo Member(Type type, string name, string key, string where)
    {
        var members = Members(type);
        var match = members.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
        if (match is not null)
        {
            return match;
        }

        var hint = Suggest(name, members.Select(p => p.Name)) is { } near ? $"; did you mean \"{near}\"?" : ";";
        throw new InvalidDataException($"{where}: unknown key \"{key}\"{hint} valid keys: {ValidKeys(type)}");
    }

    private static void CheckValue(Type type, string text, string key, string where)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        var ok = target == typeof(string)
            || (target == typeof(int) && int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
            || (target == typeof(long) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
            || (target == typeof(double) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
            || (target == typeof(bool) && bool.TryParse(text, out _))
            || (target.IsEnum && Enum.TryParse(target, text, ignoreCase: true, out _));
        if (!ok)
        {
            var shown = text.Length <= 40 ? text : text[..40] + "...";
            throw new InvalidDataException($"{where}: key \"{key}\" = '{shown}' is not {Expected(type)}");
        }
    }

    private static PropertyInfo[] Members(Type type) =>
        [.. type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetMethod is not null && p.GetIndexParameters().Length == 0)];

    private static string ValidKeys(Type type) => string.Join(", ", Members(type).Select(p => p.Name));

    private static bool IsSection(Type type) =>
        type.IsClass && type != typeof(string) && !IsList(type, out _) && type.GetConstructor(Type.EmptyTypes) is not null;

    private static bool IsList(Type type, out Type itemType)
    {
        if (type.IsArray)
        {
            itemType = type.GetElementType()!;
            return true;
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() is var g && (g == typeof(List<>) || g == typeof(IReadOnlyList<>) || g == typeof(IList<>)))
        {
            itemType = type.GetGenericArguments()[0];
            return true;
        }

        itemType = typeof(void);
        return false;
    }

    private static string Expected(Type type)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        return target switch
        {
            _ when target == typeof(int) || target == typeof(long) => "a whole number",
            _ when target == typeof(double) => "a number (digits with a '.' for decimals, no digit-group separators)",
            _ when target == typeof(bool) => "true or false",
            _ when target == typeof(string) => "a string",
            _ when target.IsEnum => $"one of {string.Join(", ", Enum.GetNames(target))}",
            _ when IsList(target, out _) => "a list",
            _ => "a section",
        };
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "true/false",
        _ => "null",
    };

    /// <summary>Levenshtein distance (insert, delete, substitute), two rows.</summary>
    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    [GeneratedRegex(@"\s*(Path: \S*\s*\|\s*)?LineNumber: \d+ \| BytePositionInLine: \d+\.?\s*$")]
    private static partial Regex PositionSuffix();
}
