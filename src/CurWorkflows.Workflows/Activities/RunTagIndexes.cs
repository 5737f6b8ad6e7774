using System.Collections.Concurrent;
using CurWorkflows.Aws;
using CurWorkflows.Cur.Aggregation;

namespace CurWorkflows.Workflows.Activities;

/// <summary>
/// The tag index (resource ARN to package) of each collection run on this host, looked up once per run and tag key and
/// shared by the run's files that start here: a period of many files makes one paginated <c>GetResources</c> walk instead
/// of one per file (the API pages 100 resources at a time and is throttled per account), and those files are attributed
/// by the same tags. A lookup that fails is forgotten, so that the next attempt asks again. An index is dropped once no
/// file of its run has started for <see cref="KeepUnused"/> (checked every minute), so memory holds the indexes of the
/// runs in progress here, not of every run of the day.
/// </summary>
public sealed class RunTagIndexes : IDisposable
{
    /// <summary>How long an index stays after a file of its run last asked for it. The files of a period start as others
    /// finish; a file that takes longer than this costs its successor a lookup of its own, nothing more.</summary>
    public static readonly TimeSpan KeepUnused = TimeSpan.FromMinutes(10);

    private readonly ConcurrentDictionary<(string RunId, string TagKey), Entry> _entries = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly ResourceTagClient _resourceTags;
    private readonly TimeProvider _time;
    private readonly ITimer _sweep;

    public RunTagIndexes(ResourceTagClient resourceTags, TimeProvider time)
    {
        _resourceTags = resourceTags;
        _time = time;
        // Without the flow of the first caller's context (an activity's trace span, kept alive for the host's life).
        using (ExecutionContext.SuppressFlow())
        {
            _sweep = time.CreateTimer(_ => DropUnused(), null, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        }
    }

    /// <summary>The number of indexes held.</summary>
    public int Count => _entries.Count;

    /// <summary>The run's index, from the lookup already made or started by another file of the run, else from a new one.
    /// <paramref name="cancellationToken"/> ends this wait, not a lookup that other files may be waiting for.</summary>
    public Task<ResourcePackageIndex> GetAsync(string runId, CustomerRole role, string tagKey, CancellationToken cancellationToken)
    {
        DropUnused();
        var now = _time.GetUtcNow().UtcTicks;
        var entry = _entries.GetOrAdd((runId, tagKey), static (key, state) => new Entry(state.Self, key, state.Role, state.Now), (Self: this, Role: role, Now: now));
        entry.LastUsedTicks = now;
        return entry.Lookup.Value.WaitAsync(cancellationToken);
    }

    public void Dispose()
    {
        _sweep.Dispose();
        _stopping.Cancel();
    }

    private void DropUnused()
    {
        var now = _time.GetUtcNow().UtcTicks;
        foreach (var stale in _entries.Where(e => now - e.Value.LastUsedTicks > KeepUnused.Ticks))
        {
            _entries.TryRemove(stale);
        }
    }

    private async Task<ResourcePackageIndex> LookUpAsync((string RunId, string TagKey) key, CustomerRole role, Entry entry)
    {
        try
        {
            return new ResourcePackageIndex(await _resourceTags.GetTagValuesAsync(role, key.TagKey, _stopping.Token));
        }
        catch (Exception)
        {
            _entries.TryRemove(new KeyValuePair<(string, string), Entry>(key, entry));
            throw;
        }
    }

    private sealed class Entry
    {
        private long _lastUsedTicks;

        public Entry(RunTagIndexes owner, (string RunId, string TagKey) key, CustomerRole role, long createdTicks)
        {
            // Stamped at creation: a sweep between GetOrAdd and the caller's stamp must not take it for an old one.
            _lastUsedTicks = createdTicks;
            // Lazy: GetOrAdd may build an entry it then throws away; only the stored one starts a lookup.
            // The lookup belongs to no one file: it runs outside the context (and trace span) of the file that starts it.
            Lookup = new Lazy<Task<ResourcePackageIndex>>(() =>
            {
                using (ExecutionContext.SuppressFlow())
                {
                    return Task.Run(() => owner.LookUpAsync(key, role, this));
                }
            });
        }

        public Lazy<Task<ResourcePackageIndex>> Lookup { get; }

        public long LastUsedTicks
        {
            get => Volatile.Read(ref _lastUsedTicks);
            set => Volatile.Write(ref _lastUsedTicks, value);
        }
    }
}
