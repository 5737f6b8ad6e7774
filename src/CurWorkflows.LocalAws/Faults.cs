using System.Collections.Concurrent;

namespace CurWorkflows.LocalAws;

public enum FaultKind
{
    /// <summary>503 SlowDown (S3) / ThrottledException (tagging) / Throttling (STS).</summary>
    SlowDown,

    /// <summary>500 InternalError.</summary>
    InternalError,

    /// <summary>400 throttling error in the service's shape (S3: 503 SlowDown; tagging: ThrottledException).</summary>
    Throttling,

    /// <summary>Send the response headers and <see cref="InjectedFault.AfterBytes"/> bytes of body, then abort the connection.</summary>
    ResetAfterBytes,

    /// <summary>Send the body at <see cref="InjectedFault.BytesPerSecond"/>.</summary>
    SlowBody,

    /// <summary>Answer normally, after <see cref="InjectedFault.DelayMilliseconds"/> (a slow service).</summary>
    Delay,

    /// <summary>Tagging only, queued under <see cref="LocalAwsOperations.GetResourcesIn"/>: 400 AccessDeniedException in that
    /// region (an organization's policy denying the region).</summary>
    AccessDenied,

    /// <summary>A refused signature, answered as AWS answers it: STS and tagging quote the canonical request they
    /// expected, headers and all (the session token among them); S3's message does not.</summary>
    SignatureMismatch,
}

/// <summary>A fault applied to the next <see cref="Times"/> requests of <see cref="Operation"/> (null: any operation).</summary>
public sealed record InjectedFault(FaultKind Kind, string? Operation = null, int Times = 1, long AfterBytes = 0, int BytesPerSecond = 0, int DelayMilliseconds = 0);

/// <summary>Operation names used by faults and counters.</summary>
public static class LocalAwsOperations
{
    public const string AssumeRole = "AssumeRole";
    public const string GetCallerIdentity = "GetCallerIdentity";
    public const string ListObjectsV2 = "ListObjectsV2";
    public const string GetObject = "GetObject";
    public const string HeadObject = "HeadObject";
    public const string PutObject = "PutObject";
    public const string HeadBucket = "HeadBucket";
    public const string CreateBucket = "CreateBucket";
    public const string GetResources = "GetResources";

    /// <summary>A <c>GetResources</c> request that carries a pagination token: any fault queued under this name answers
    /// it with <c>PaginationTokenExpiredException</c>.</summary>
    public const string GetResourcesNextPage = "GetResources:next-page";

    /// <summary>A <c>GetResources</c> request signed for <paramref name="region"/>.</summary>
    public static string GetResourcesIn(string region) => "GetResources@" + region;
}

/// <summary>The queue of faults still to inject. Thread-safe.</summary>
public sealed class FaultInjector
{
    private readonly List<InjectedFault> _pending = [];
    private readonly Lock _sync = new();

    public void Add(InjectedFault fault)
    {
        lock (_sync)
        {
            _pending.Add(fault);
        }
    }

    public void Clear()
    {
        lock (_sync)
        {
            _pending.Clear();
        }
    }

    public int Pending
    {
        get
        {
            lock (_sync)
            {
                return _pending.Sum(f => f.Times);
            }
        }
    }

    internal InjectedFault? Take(string operation)
    {
        lock (_sync)
        {
            var index = _pending.FindIndex(f => f.Operation is null || f.Operation == operation);
            if (index < 0)
            {
                return null;
            }

            var fault = _pending[index];
            if (fault.Times <= 1)
            {
                _pending.RemoveAt(index);
            }
            else
            {
                _pending[index] = fault with { Times = fault.Times - 1 };
            }

            return fault;
        }
    }
}

/// <summary>What the endpoint served, for assertions.</summary>
public sealed class LocalAwsCounters
{
    private readonly ConcurrentDictionary<string, long> _requests = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _errors = new(StringComparer.Ordinal);
    private long _objectBytesServed;
    private long _objectBytesRequested;
    private int _objectBodiesInFlight;
    private int _maxObjectBodiesInFlight;

    /// <summary>Body bytes of GetObject responses actually written to the network.</summary>
    public long ObjectBytesServed => Interlocked.Read(ref _objectBytesServed);

    /// <summary>Sum of the lengths of the byte ranges GetObject requests asked for.</summary>
    public long ObjectBytesRequested => Interlocked.Read(ref _objectBytesRequested);

    /// <summary>The most GetObject bodies being sent at the same time (parallel ranged GETs of a client).</summary>
    public int MaxObjectBodiesInFlight => Volatile.Read(ref _maxObjectBodiesInFlight);

    public long Requests(string operation) => _requests.GetValueOrDefault(operation);

    /// <summary>Error responses by S3/STS/tagging error code (e.g. <c>AccessDenied</c>, <c>SlowDown</c>).</summary>
    public long Errors(string code) => _errors.GetValueOrDefault(code);

    public void Reset()
    {
        _requests.Clear();
        _errors.Clear();
        Interlocked.Exchange(ref _objectBytesServed, 0);
        Interlocked.Exchange(ref _objectBytesRequested, 0);
        Interlocked.Exchange(ref _maxObjectBodiesInFlight, 0);
    }

    internal void ObjectBodyStarted()
    {
        var now = Interlocked.Increment(ref _objectBodiesInFlight);
        int max;
        while (now > (max = Volatile.Read(ref _maxObjectBodiesInFlight)) && Interlocked.CompareExchange(ref _maxObjectBodiesInFlight, now, max) != max)
        {
        }
    }

    internal void ObjectBodyEnded() => Interlocked.Decrement(ref _objectBodiesInFlight);

    internal void CountRequest(string operation) => _requests.AddOrUpdate(operation, 1, (_, n) => n + 1);

    internal void CountError(string code) => _errors.AddOrUpdate(code, 1, (_, n) => n + 1);

    internal void AddBytesServed(long bytes) => Interlocked.Add(ref _objectBytesServed, bytes);

    internal void AddBytesRequested(long bytes) => Interlocked.Add(ref _objectBytesRequested, bytes);
}
