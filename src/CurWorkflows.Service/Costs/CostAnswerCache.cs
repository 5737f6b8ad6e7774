using System.Collections.Concurrent;
using System.Security.Cryptography;
using CurWorkflows.Service.Extensions;
using CurWorkflows.Storage.Costs;
using Microsoft.Extensions.Options;

namespace CurWorkflows.Service.Costs;

/// <summary>A serialized cost answer: the exact bytes sent, their media type and a strong ETag of the bytes.</summary>
public sealed record CostAnswer(byte[] Body, string ContentType, string ETag)
{
    public static CostAnswer Create(byte[] body, string contentType) =>
        new(body, contentType, "\"" + Convert.ToBase64String(SHA256.HashData(body), 0, 18).Replace('+', '-').Replace('/', '_') + "\"");
}

/// <summary>
/// Serialized cost answers by key (organization + normalized query + format, see <see cref="CostAnswerKey"/>), each
/// stored with the organization's <see cref="CostDataVersion"/> it was computed under: an entry is served only while the
/// organization's version is still the same, so a replaced or deleted billing period is visible to the next request.
/// Concurrent misses of one key and version compute once (single flight). Bounded by
/// <see cref="ApiOptions.CostCacheMegabytes"/> of bodies, least recently used evicted first; an answer larger than a
/// quarter of the bound is not kept.
/// </summary>
public sealed class CostAnswerCache
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, LinkedListNode<Entry>> entries = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> recency = new();
    private readonly ConcurrentDictionary<(string Key, CostDataVersion Version), Lazy<Task<CostAnswer>>> inFlight = new();
    private long bytes;

    public CostAnswerCache(IOptions<ApiOptions> options)
    {
        Enabled = options.Value.CostCacheEnabled;
        MaxBytes = (long)options.Value.CostCacheMegabytes * 1024 * 1024;
    }

    public bool Enabled { get; }

    public long MaxBytes { get; }

    /// <summary>Bytes of the bodies held now (never above <see cref="MaxBytes"/>).</summary>
    public long Bytes
    {
        get
        {
            lock (gate)
            {
                return bytes;
            }
        }
    }

    public int Count
    {
        get
        {
            lock (gate)
            {
                return entries.Count;
            }
        }
    }

    /// <summary>
    /// The answer for <paramref name="key"/> computed under <paramref name="version"/>: from memory, or computed once for
    /// all concurrent callers. The computation is not cancelled when one caller goes away (others may wait for it).
    /// </summary>
    public async Task<CostAnswer> GetOrComputeAsync(
        string key, CostDataVersion version, Func<CancellationToken, Task<CostAnswer>> compute, CancellationToken cancellationToken)
    {
        if (TryGet(key, version, out var cached))
        {
            return cached;
        }

        var flightKey = (key, version);
        var flight = inFlight.GetOrAdd(flightKey, _ => new Lazy<Task<CostAnswer>>(async () =>
        {
            var answer = await compute(CancellationToken.None);
            Store(key, version, answer);
            return answer;
        }));
        try
        {
            return await flight.Value.WaitAsync(cancellationToken);
        }
        finally
        {
            // The answer is stored before the flight completes: later callers find it in memory.
            inFlight.TryRemove(KeyValuePair.Create(flightKey, flight));
        }
    }

    private bool TryGet(string key, CostDataVersion version, out CostAnswer answer)
    {
        lock (gate)
        {
            if (entries.TryGetValue(key, out var node))
            {
                if (node.Value.Version == version)
                {
                    recency.Remove(node);
                    recency.AddFirst(node);
                    answer = node.Value.Answer;
                    return true;
                }

                Remove(node);
            }
        }

        answer = null!;
        return false;
    }

    private void Store(string key, CostDataVersion version, CostAnswer answer)
    {
        var size = Size(key, answer);
        if (size > MaxBytes / 4)
        {
            return;
        }

        lock (gate)
        {
            if (entries.TryGetValue(key, out var existing))
            {
                Remove(existing);
            }

            while (bytes + size > MaxBytes && recency.Last is { } oldest)
            {
                Remove(oldest);
            }

            entries[key] = recency.AddFirst(new Entry(key, version, answer));
            bytes += size;
        }
    }

    private void Remove(LinkedListNode<Entry> node)
    {
        recency.Remove(node);
        entries.Remove(node.Value.Key);
        bytes -= Size(node.Value.Key, node.Value.Answer);
    }

    private static long Size(string key, CostAnswer answer) => answer.Body.Length + (key.Length * 2L);

    private sealed record Entry(string Key, CostDataVersion Version, CostAnswer Answer);
}
