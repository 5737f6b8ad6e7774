using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using CurWorkflows.Service.Extensions;
using Microsoft.Extensions.Options;

namespace CurWorkflows.Service.Auth;

/// <summary>
/// Verified API keys for <see cref="ApiOptions.ApiKeyCacheSeconds"/>, so that a request does not hash and look its key
/// up in the database each time. Entries are keyed by the SHA-256 of the presented key (the key itself is never kept)
/// and hold only the organization id. Only successful checks are cached: a wrong key always reaches the database.
/// </summary>
public sealed class ApiKeyCache(IOptions<ApiOptions> options, TimeProvider timeProvider)
{
    /// <summary>Beyond this many distinct keys the cache starts over instead of growing.</summary>
    public const int MaxEntries = 10_000;

    private readonly ConcurrentDictionary<string, Entry> entries = new(StringComparer.Ordinal);
    private readonly TimeSpan lifetime = TimeSpan.FromSeconds(options.Value.ApiKeyCacheSeconds);

    public bool Enabled => lifetime > TimeSpan.Zero;

    public int Count => entries.Count;

    public static string Fingerprint(string presentedKey) =>
        Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(presentedKey)));

    private long evictions;

    /// <summary>Read before looking a key up in the database, and handed to <see cref="Add"/>: a lookup that started
    /// before a revocation in this process may have read the key as valid, and must not cache it afterwards.</summary>
    public long Generation => Interlocked.Read(ref evictions);

    public bool TryGet(string fingerprint, out Guid organizationId)
    {
        if (entries.TryGetValue(fingerprint, out var entry) && entry.ExpiresAt > timeProvider.GetUtcNow())
        {
            organizationId = entry.OrganizationId;
            return true;
        }

        organizationId = Guid.Empty;
        return false;
    }

    /// <param name="generation">The <see cref="Generation"/> read before the database lookup.</param>
    public void Add(string fingerprint, Guid organizationId, long generation)
    {
        if (!Enabled)
        {
            return;
        }

        if (entries.Count >= MaxEntries)
        {
            entries.Clear();
        }

        entries[fingerprint] = new Entry(organizationId, timeProvider.GetUtcNow() + lifetime);
        if (Generation != generation)
        {
            // A revocation ran during the lookup (before or after this write): the entry goes, checked again next time.
            entries.TryRemove(fingerprint, out _);
        }
    }

    /// <summary>After a revocation in this process: the organization's keys are checked against the database again.</summary>
    public void EvictOrganization(Guid organizationId)
    {
        Interlocked.Increment(ref evictions);
        foreach (var (fingerprint, entry) in entries)
        {
            if (entry.OrganizationId == organizationId)
            {
                entries.TryRemove(fingerprint, out _);
            }
        }
    }

    private sealed record Entry(Guid OrganizationId, DateTimeOffset ExpiresAt);
}
