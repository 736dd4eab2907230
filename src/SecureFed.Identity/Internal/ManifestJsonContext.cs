using System.Text.Json.Serialization;

namespace SecureFed.Identity.Internal;

/// <summary>Source-generated JSON metadata for the manifest (no reflection at run time).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ConsortiumManifest))]
internal sealed partial class ManifestJsonContext : JsonSerializerContext;
