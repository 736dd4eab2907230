using System.Reflection;

namespace SecureFed.Privacy.Tests;

public class ArchitectureTests
{
    private static readonly Assembly Privacy = typeof(RdpAccountant).Assembly;

    [Fact]
    public void PrivacyAssembly_References_NoOuterLayerFrameworks()
    {
        string[] forbidden = ["Microsoft.AspNetCore", "Grpc", "OpenTelemetry", "TorchSharp"];
        foreach (var reference in Privacy.GetReferencedAssemblies())
        {
            Assert.DoesNotContain(forbidden, f => reference.Name!.StartsWith(f, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void PublicTypes_LiveAtTheRootAndInternalOnesAreSealedOrStatic()
    {
        foreach (var type in Privacy.GetTypes())
        {
            if (type.IsPublic)
            {
                Assert.Equal("SecureFed.Privacy", type.Namespace);
            }

            if (type.Namespace == "SecureFed.Privacy.Internal" && !type.IsNested && type.IsClass)
            {
                Assert.False(type.IsPublic, $"{type} must be internal");
                Assert.True(type.IsSealed, $"{type} must be sealed or static");
            }
        }
    }

    [Fact]
    public void PrivacyAssembly_NeverUsesSystemRandom()
    {
        // Scan every method body for a token that resolves to System.Random.
        foreach (var type in Privacy.GetTypes())
        {
            foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            {
                byte[]? il = method.GetMethodBody()?.GetILAsByteArray();
                if (il is null)
                {
                    continue;
                }

                for (int i = 0; i + 4 < il.Length; i++)
                {
                    // call/callvirt/newobj followed by a member token
                    if (il[i] is 0x28 or 0x6F or 0x73)
                    {
                        int token = BitConverter.ToInt32(il, i + 1);
                        try
                        {
                            var member = method.Module.ResolveMember(token, type.GetGenericArguments(), method.IsGenericMethod ? method.GetGenericArguments() : null);
                            Assert.NotEqual(typeof(Random), member?.DeclaringType);
                        }
                        catch (ArgumentException)
                        {
                            // not a member token at this offset
                        }
                    }
                }
            }
        }
    }
}
