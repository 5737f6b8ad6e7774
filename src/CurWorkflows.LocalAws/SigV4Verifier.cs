using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http.Features;

namespace CurWorkflows.LocalAws;

internal enum SignatureFailure
{
    None,
    Missing,
    Malformed,
    UnknownAccessKey,
    SignatureMismatch,
    InvalidToken,
    Expired,
    RequestTimeTooSkewed,
}

/// <summary>The parsed <c>Authorization: AWS4-HMAC-SHA256 ...</c> header.</summary>
internal sealed record SigV4Authorization(
    string AccessKeyId, string Date, string Region, string Service, IReadOnlyList<string> SignedHeaders, string Signature)
{
    private const string Prefix = "AWS4-HMAC-SHA256 ";

    public static SigV4Authorization? TryParse(string? header)
    {
        if (header is null || !header.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        string? credential = null, signedHeaders = null, signature = null;
        foreach (var part in header[Prefix.Length..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                return null;
            }

            var value = part[(eq + 1)..];
            switch (part[..eq])
            {
                case "Credential": credential = value; break;
                case "SignedHeaders": signedHeaders = value; break;
                case "Signature": signature = value; break;
                default: return null;
            }
        }

        var scope = credential?.Split('/');
        if (scope is not { Length: 5 } || scope[4] != "aws4_request" || signedHeaders is null || signature is null)
        {
            return null;
        }

        return new SigV4Authorization(scope[0], scope[1], scope[2], scope[3], signedHeaders.Split(';'), signature);
    }
}

/// <summary>
/// Verifies AWS Signature Version 4 on a request: rebuilds the canonical request and the string to sign and
/// recomputes the HMAC chain with the secret of the access key the request names.
/// </summary>
internal static class SigV4Verifier
{
    public const string UnsignedPayload = "UNSIGNED-PAYLOAD";
    private const string Algorithm = "AWS4-HMAC-SHA256";

    public static SignatureFailure Verify(
        HttpRequest request, SigV4Authorization authorization, SigningIdentity identity, string payloadHash, TimeSpan allowedSkew)
    {
        var amzDate = request.Headers["x-amz-date"].ToString();
        if (!DateTimeOffset.TryParseExact(amzDate, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var signedAt)
            || !amzDate.StartsWith(authorization.Date, StringComparison.Ordinal))
        {
            return SignatureFailure.Malformed;
        }

        if ((DateTimeOffset.UtcNow - signedAt).Duration() > allowedSkew)
        {
            return SignatureFailure.RequestTimeTooSkewed;
        }

        if (!authorization.SignedHeaders.Contains("host"))
        {
            return SignatureFailure.Malformed;
        }

        var canonicalRequest = CanonicalRequest(request, authorization.SignedHeaders, payloadHash);
        var scope = $"{authorization.Date}/{authorization.Region}/{authorization.Service}/aws4_request";
        var stringToSign = $"{Algorithm}\n{amzDate}\n{scope}\n{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest)))}";

        var key = Hmac(Encoding.UTF8.GetBytes("AWS4" + identity.SecretAccessKey), authorization.Date);
        key = Hmac(key, authorization.Region);
        key = Hmac(key, authorization.Service);
        key = Hmac(key, "aws4_request");
        var expected = Convert.ToHexStringLower(Hmac(key, stringToSign));

        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(authorization.Signature)))
        {
            return SignatureFailure.SignatureMismatch;
        }

        if (identity.SessionToken is not null)
        {
            var token = request.Headers["x-amz-security-token"].ToString();
            if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(token), Encoding.UTF8.GetBytes(identity.SessionToken)))
            {
                return SignatureFailure.InvalidToken;
            }

            if (!authorization.SignedHeaders.Contains("x-amz-security-token"))
            {
                return SignatureFailure.Malformed;
            }
        }

        if (identity.Expiration is { } expiration && expiration <= DateTimeOffset.UtcNow)
        {
            return SignatureFailure.Expired;
        }

        return SignatureFailure.None;
    }

    internal static string CanonicalRequest(HttpRequest request, IReadOnlyList<string> signedHeaders, string payloadHash)
    {
        var rawTarget = request.HttpContext.Features.Get<IHttpRequestFeature>()?.RawTarget ?? request.Path.ToString();
        var queryStart = rawTarget.IndexOf('?', StringComparison.Ordinal);
        var rawPath = queryStart >= 0 ? rawTarget[..queryStart] : rawTarget;
        var rawQuery = queryStart >= 0 ? rawTarget[(queryStart + 1)..] : string.Empty;

        var builder = new StringBuilder();
        builder.Append(request.Method).Append('\n');
        builder.Append(rawPath.Length == 0 ? "/" : rawPath).Append('\n');
        builder.Append(CanonicalQuery(rawQuery)).Append('\n');
        foreach (var name in signedHeaders)
        {
            var values = request.Headers[name];
            builder.Append(name).Append(':')
                .Append(string.Join(",", values.Select(v => CollapseSpaces((v ?? string.Empty).Trim()))))
                .Append('\n');
        }

        builder.Append('\n').Append(string.Join(";", signedHeaders)).Append('\n').Append(payloadHash);
        return builder.ToString();
    }

    private static string CanonicalQuery(string rawQuery)
    {
        if (rawQuery.Length == 0)
        {
            return string.Empty;
        }

        var pairs = rawQuery.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair =>
            {
                var eq = pair.IndexOf('=', StringComparison.Ordinal);
                var name = eq >= 0 ? pair[..eq] : pair;
                var value = eq >= 0 ? pair[(eq + 1)..] : string.Empty;
                return (Name: UriEncode(Uri.UnescapeDataString(name)), Value: UriEncode(Uri.UnescapeDataString(value)));
            })
            .OrderBy(p => p.Name, StringComparer.Ordinal)
            .ThenBy(p => p.Value, StringComparer.Ordinal);
        return string.Join("&", pairs.Select(p => p.Name + "=" + p.Value));
    }

    /// <summary>RFC 3986 encoding as SigV4 defines it: everything but unreserved characters, upper-case hex.</summary>
    internal static string UriEncode(string value)
    {
        var builder = new StringBuilder(value.Length);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            var c = (char)b;
            if (c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or '.' or '~')
            {
                builder.Append(c);
            }
            else
            {
                builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }

    private static string CollapseSpaces(string value)
    {
        if (!value.Contains("  ", StringComparison.Ordinal))
        {
            return value;
        }

        var builder = new StringBuilder(value.Length);
        var previousSpace = false;
        foreach (var c in value)
        {
            if (c == ' ' && previousSpace)
            {
                continue;
            }

            previousSpace = c == ' ';
            builder.Append(c);
        }

        return builder.ToString();
    }

    private static byte[] Hmac(byte[] key, string data) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));
}
