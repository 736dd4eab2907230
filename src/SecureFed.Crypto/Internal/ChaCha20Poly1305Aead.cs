using System.Security.Cryptography;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Parameters;
using BcChaCha20Poly1305 = Org.BouncyCastle.Crypto.Modes.ChaCha20Poly1305;

namespace SecureFed.Crypto.Internal;

/// <summary>
/// ChaCha20-Poly1305 (RFC 8439): the BCL implementation (OpenSSL underneath) where
/// <see cref="ChaCha20Poly1305.IsSupported"/>, BouncyCastle otherwise. Both produce identical output.
/// </summary>
internal sealed class ChaCha20Poly1305Aead : IAead
{
    private const int Key = 32;
    private const int Nonce = 12;
    private const int Tag = 16;
    private readonly bool _useBcl;

    /// <param name="preferPlatform">False forces the BouncyCastle engine (tests compare both).</param>
    public ChaCha20Poly1305Aead(bool preferPlatform = true)
    {
        _useBcl = preferPlatform && ChaCha20Poly1305.IsSupported;
    }

    public int KeySize => Key;

    public int NonceSize => Nonce;

    public int TagSize => Tag;

    /// <summary>Whether the BCL engine is in use.</summary>
    internal bool UsesPlatform => _useBcl;

    public byte[] Seal(SecretBytes key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        Validate(key, nonce);
        var output = new byte[plaintext.Length + Tag];
        if (_useBcl)
        {
            using var cipher = new ChaCha20Poly1305(key.Reveal());
            cipher.Encrypt(nonce, plaintext, output.AsSpan(0, plaintext.Length), output.AsSpan(plaintext.Length), associatedData);
        }
        else
        {
            var cipher = CreateBouncyCastle(forEncryption: true, key, nonce, associatedData);
            int written = cipher.ProcessBytes(plaintext, output);
            cipher.DoFinal(output.AsSpan(written));
        }

        return output;
    }

    public byte[] Open(SecretBytes key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertextAndTag, ReadOnlySpan<byte> associatedData)
    {
        Validate(key, nonce);
        if (ciphertextAndTag.Length < Tag)
        {
            throw new AeadAuthenticationException(
                $"AEAD authentication failed: the input ({ciphertextAndTag.Length} bytes) is shorter than the {Tag}-byte tag.");
        }

        int plaintextLength = ciphertextAndTag.Length - Tag;
        var plaintext = new byte[plaintextLength];
        if (_useBcl)
        {
            using var cipher = new ChaCha20Poly1305(key.Reveal());
            try
            {
                cipher.Decrypt(nonce, ciphertextAndTag[..plaintextLength], ciphertextAndTag[plaintextLength..], plaintext, associatedData);
            }
            catch (AuthenticationTagMismatchException ex)
            {
                // The BCL already cleared the plaintext buffer.
                throw new AeadAuthenticationException(new AeadAuthenticationException().Message, ex);
            }
        }
        else
        {
            var cipher = CreateBouncyCastle(forEncryption: false, key, nonce, associatedData);

            // BouncyCastle buffers the tag and releases plaintext only from DoFinal after checking it.
            var buffer = new byte[plaintextLength + Tag];
            try
            {
                int written = cipher.ProcessBytes(ciphertextAndTag, buffer);
                written += cipher.DoFinal(buffer.AsSpan(written));
                buffer.AsSpan(0, written).CopyTo(plaintext);
            }
            catch (InvalidCipherTextException ex)
            {
                throw new AeadAuthenticationException(new AeadAuthenticationException().Message, ex);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(buffer);
            }
        }

        return plaintext;
    }

    private static BcChaCha20Poly1305 CreateBouncyCastle(
        bool forEncryption, SecretBytes key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData)
    {
        var cipher = new BcChaCha20Poly1305();
        var parameters = new AeadParameters(new KeyParameter(key.Reveal()), Tag * 8, nonce.ToArray(), associatedData.ToArray());
        cipher.Init(forEncryption, parameters);
        return cipher;
    }

    private static void Validate(SecretBytes key, ReadOnlySpan<byte> nonce)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length != Key)
        {
            throw new ArgumentException($"A ChaCha20-Poly1305 key is {Key} bytes; got {key.Length}.", nameof(key));
        }

        if (nonce.Length != Nonce)
        {
            throw new ArgumentException($"A ChaCha20-Poly1305 nonce is {Nonce} bytes; got {nonce.Length}.", nameof(nonce));
        }
    }
}
