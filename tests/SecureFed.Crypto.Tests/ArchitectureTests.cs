using System.Reflection;

namespace SecureFed.Crypto.Tests;

public class ArchitectureTests
{
    private static readonly Assembly CryptoAssembly = typeof(CryptoProvider).Assembly;

    [Fact]
    public void PublicTypes_AllLiveInRootNamespace()
    {
        Assert.All(CryptoAssembly.GetExportedTypes(), t => Assert.Equal("SecureFed.Crypto", t.Namespace));
    }

    [Fact]
    public void InternalNamespaceTypes_AreInternalAndSealedOrStatic()
    {
        var types = CryptoAssembly.GetTypes().Where(t => t.Namespace == "SecureFed.Crypto.Internal" && !t.IsNested
            && t.GetCustomAttribute<System.Runtime.CompilerServices.CompilerGeneratedAttribute>() is null).ToList();
        Assert.NotEmpty(types);
        Assert.All(types, t =>
        {
            Assert.False(t.IsPublic, t.FullName);
            Assert.True(t.IsSealed || t.IsInterface, t.FullName);
        });
    }

    [Theory]
    [InlineData(typeof(SecretBytes))]
    [InlineData(typeof(SecretShare))]
    [InlineData(typeof(X25519KeyPair))]
    public void SecretHoldingTypes_OverrideToString(Type type)
    {
        var method = type.GetMethod(nameof(ToString), Type.EmptyTypes)!;
        Assert.Equal(type, method.DeclaringType);
    }

    [Fact]
    public void CryptoAssembly_ReferencesNoOuterLayers()
    {
        string[] forbidden = ["Grpc", "Microsoft.AspNetCore", "OpenTelemetry", "TorchSharp", "SecureFed.Protocol", "SecureFed.Privacy"];
        var references = CryptoAssembly.GetReferencedAssemblies().Select(a => a.Name ?? "");
        Assert.DoesNotContain(references, r => forbidden.Any(f => r.StartsWith(f, StringComparison.Ordinal)));
    }
}
