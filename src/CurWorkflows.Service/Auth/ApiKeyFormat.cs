using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace CurWorkflows.Service.Auth;

/// <summary>
/// API keys look like <c>cwk_{keyId}_{secret}</c>. The key id is stored in clear to find the row; only the
/// SHA-256 of the whole key is stored. 256 random bits make a slow password hash unnecessary.
/// </summary>
public static class ApiKeyFormat
{
    private const string Prefix = "cwk_";
    private const int KeyIdBytes = 9;
    private const int SecretBytes = 32;

    public sealed record GeneratedKey(string KeyId, string Key, byte[] Hash)
    {
        public override string ToString() => $"GeneratedKey {{ KeyId = {KeyId} }}";
    }

    public static GeneratedKey Generate()
    {
        var keyId = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(KeyIdBytes));
        var secret = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(SecretBytes));
        // Base64Url may produce '_' and '-': the key id has a fixed length, so the separator is found by position.
        var key = $"{Prefix}{keyId}_{secret}";
        return new GeneratedKey(keyId, key, Hash(key));
    }

    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    /// <summary>The key id of a well-formed key, or null.</summary>
    public static string? TryGetKeyId(string key)
    {
        var keyIdLength = Base64Url.GetEncodedLength(KeyIdBytes);
        var secretLength = Base64Url.GetEncodedLength(SecretBytes);
        if (key.Length != Prefix.Length + keyIdLength + 1 + secretLength
            || !key.StartsWith(Prefix, StringComparison.Ordinal)
            || key[Prefix.Length + keyIdLength] != '_')
        {
            return null;
        }

        return key.Substring(Prefix.Length, keyIdLength);
    }

    /// <summary>Compares in time independent of where the hashes differ.</summary>
    public static bool Matches(string presentedKey, byte[] storedHash) =>
        CryptographicOperations.FixedTimeEquals(Hash(presentedKey), storedHash);
}
