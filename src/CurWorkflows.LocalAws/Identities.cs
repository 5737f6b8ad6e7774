using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace CurWorkflows.LocalAws;

internal enum IdentityKind
{
    Platform,
    Admin,
    AssumedRole,
}

/// <summary>Who signed a request. Never logged with its secret.</summary>
internal sealed class SigningIdentity
{
    public required IdentityKind Kind { get; init; }

    public required string AccessKeyId { get; init; }

    public required string SecretAccessKey { get; init; }

    public string? SessionToken { get; init; }

    public DateTimeOffset? Expiration { get; set; }

    public IamPolicy? Policy { get; init; }

    public string? AssumedRoleArn { get; init; }

    /// <summary>No longer known to the endpoint (as after its restart): requests signed with it are refused as unknown.</summary>
    public bool Forgotten { get; set; }

    public override string ToString() => $"{Kind}({AccessKeyId})";
}

/// <summary>Long-term keys and the temporary credentials issued by the local STS.</summary>
internal sealed class IdentityStore
{
    private const string AccessKeyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    private readonly ConcurrentDictionary<string, SigningIdentity> _identities = new(StringComparer.Ordinal);

    public IdentityStore(LocalAwsOptions options)
    {
        foreach (var key in options.PlatformKeys)
        {
            _identities[key.AccessKeyId] = new SigningIdentity
            {
                Kind = IdentityKind.Platform,
                AccessKeyId = key.AccessKeyId,
                SecretAccessKey = key.SecretAccessKey,
            };
        }

        foreach (var key in options.AdminKeys)
        {
            _identities[key.AccessKeyId] = new SigningIdentity
            {
                Kind = IdentityKind.Admin,
                AccessKeyId = key.AccessKeyId,
                SecretAccessKey = key.SecretAccessKey,
            };
        }

        RequirePlatformSignature = options.PlatformKeys.Count > 0;
    }

    /// <summary>False when no platform keys are configured: AssumeRole then accepts any well-formed signature.</summary>
    public bool RequirePlatformSignature { get; }

    public SigningIdentity? Find(string accessKeyId) => _identities.GetValueOrDefault(accessKeyId) is { Forgotten: false } identity ? identity : null;

    public SigningIdentity IssueSession(string roleArn, IamPolicy? policy, TimeSpan duration)
    {
        var identity = new SigningIdentity
        {
            Kind = IdentityKind.AssumedRole,
            AccessKeyId = "ASIA" + RandomNumberGenerator.GetString(AccessKeyAlphabet, 16),
            SecretAccessKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(30)),
            SessionToken = Convert.ToBase64String(RandomNumberGenerator.GetBytes(96)),
            Expiration = DateTimeOffset.UtcNow.Add(duration),
            Policy = policy,
            AssumedRoleArn = roleArn,
        };
        _identities[identity.AccessKeyId] = identity;
        return identity;
    }

    public IReadOnlyList<string> IssuedSecrets() =>
        _identities.Values.Where(i => i.Kind == IdentityKind.AssumedRole)
            .SelectMany(i => new[] { i.SecretAccessKey, i.SessionToken! }).ToList();

    /// <summary>Forgets every issued temporary credential, as a restart of the endpoint does (S3: InvalidAccessKeyId).</summary>
    public void ForgetSessions()
    {
        foreach (var identity in _identities.Values.Where(i => i.Kind == IdentityKind.AssumedRole))
        {
            identity.Forgotten = true;
        }
    }

    /// <summary>Makes every issued temporary credential expired (tests of expiry handling).</summary>
    public void ExpireSessions()
    {
        foreach (var identity in _identities.Values.Where(i => i.Kind == IdentityKind.AssumedRole))
        {
            identity.Expiration = DateTimeOffset.UtcNow.AddSeconds(-1);
        }
    }
}
