using System.Collections.Concurrent;
using CurWorkflows.Aws;
using CurWorkflows.Cur.Aggregation;

namespace CurWorkflows.Workflows.Activities;

/// <summary>
/// The tag index (resource ARN to package) of each collection run on this host, looked up once per run and tag key and
/// shared by the run's files: a period of many files makes one paginated <c>GetResources</c> walk instead of one per file
/// (the API pages 100 resources at a time and is throttled per account), and every file of a run is attributed by the same
/// tags. A lookup that fails is forgotten, so that the next attempt asks again; an index unused for
/// <see cref="KeepUnused"/> is dropped.
/// </summary>
public sealed class RunTagIndexes(ResourceTagClient resourceTags, TimeProvider time) : IDisposable
{
    /// <summary>How long an index stays after its last use. A run's files normally start within minutes of one another.</summary>
    public static readonly TimeSpan KeepUnused = TimeSpan.FromHours(1);

    private readonly ConcurrentDictionary<(string RunId, string TagKey), Entry> _entries = new();
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>The run's index, from the lookup already made or started by another file of the run, else from a new one.
    /// <paramref name="cancellationToken"/> ends this wait, not a lookup that other files may be waiting for.</summary>
    public Task<ResourcePackageIndex> GetAsync(string runId, CustomerRole role, string tagKey, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        foreach (var stale in _entries.Where(e => now.UtcTicks - e.Value.LastUsedTicks > KeepUnused.Ticks))
        {
            _entries.TryRemove(stale);
        }

        var key = (runId, tagKey);
        var entry = _entries.GetOrAdd(key, static (key, state) => new Entry(state.Self, key, state.Role), (Self: this, Role: role));
        entry.LastUsedTicks = now.UtcTicks;
        return entry.Lookup.Value.WaitAsync(cancellationToken);
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    private async Task<ResourcePackageIndex> LookUpAsync((string RunId, string TagKey) key, CustomerRole role, Entry entry)
    {
        try
        {
            return new ResourcePackageIndex(await resourceTags.GetTagValuesAsync(role, key.TagKey, _stopping.Token));
        }
        catch (Exception)
        {
            _entries.TryRemove(new KeyValuePair<(string, string), Entry>(key, entry));
            throw;
        }
    }

    private sealed class Entry
    {
        public Entry(RunTagIndexes owner, (string RunId, string TagKey) key, CustomerRole role)
        {
            // Lazy: GetOrAdd may build an entry it then throws away; only the stored one starts a lookup.
            Lookup = new Lazy<Task<ResourcePackageIndex>>(() => Task.Run(() => owner.LookUpAsync(key, role, this)));
        }

        public Lazy<Task<ResourcePackageIndex>> Lookup { get; }

        private long _lastUsedTicks;

        public long LastUsedTicks
        {
            get => Volatile.Read(ref _lastUsedTicks);
            set => Volatile.Write(ref _lastUsedTicks, value);
        }
    }
}
