using Microsoft.Data.Sqlite;

namespace CurWorkflows.Storage;

/// <summary>
/// Checkpoints a SQLite database's write-ahead log in the background (<c>Storage:SqliteCheckpointInterval</c>), instead of
/// in the commit that crosses SQLite's threshold of 1,000 pages. That commit would otherwise copy the log into the
/// database file and wait for two fsyncs before it returns: about 50 ms of a 120 ms bulk write of 28,000 cost rows here,
/// and on ext4 each fsync also waits for the dirty pages of a report just downloaded to the same disk. Durability is the
/// same class as before: with <c>synchronous=NORMAL</c> in WAL mode a commit is on disk once a checkpoint has synced the
/// log, and one runs within the interval after any write.
/// </summary>
internal sealed class SqliteWalCheckpointer : IDisposable
{
    private readonly string _connectionString;
    private readonly string? _walPath;
    private readonly TimeSpan _interval;
    private Timer? _timer;
    private DateTime _checkpointedWrite;
    private int _running;
    private long _checkpoints;
    private volatile bool _disposed;

    public SqliteWalCheckpointer(string connectionString, TimeSpan interval)
    {
        _connectionString = connectionString;
        _interval = interval;
        var dataSource = new SqliteConnectionStringBuilder(connectionString).DataSource;
        // An in-memory database has no log file; a URI is left to SQLite's own checkpoints.
        _walPath = string.IsNullOrEmpty(dataSource) || dataSource == ":memory:" || dataSource.StartsWith("file:", StringComparison.OrdinalIgnoreCase)
            ? null
            : Path.GetFullPath(dataSource) + "-wal";
    }

    /// <summary>Whether connections should leave checkpoints to this class (turn SQLite's automatic ones off).</summary>
    public bool Enabled => _walPath is not null && _interval > TimeSpan.Zero;

    /// <summary>Checkpoints run so far that found new writes in the log.</summary>
    internal long Checkpoints => Interlocked.Read(ref _checkpoints);

    /// <summary>Starts the periodic checkpoints; called when a connection opens, so that only a database in use has them.</summary>
    public void EnsureStarted()
    {
        if (!Enabled || _disposed || Volatile.Read(ref _timer) is not null)
        {
            return;
        }

        var timer = new Timer(_ => CheckpointIfWritten(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        if (Interlocked.CompareExchange(ref _timer, timer, null) is null)
        {
            timer.Change(_interval, _interval);
        }
        else
        {
            timer.Dispose();
        }
    }

    /// <summary>Stops the checkpoints, and waits for one already running: whoever disposes the database's last user may
    /// delete its files next, and a checkpoint's connection would create them again.</summary>
    public void Dispose()
    {
        _disposed = true;
        Interlocked.MemoryBarrier();
        Interlocked.Exchange(ref _timer, null)?.Dispose();
        SpinWait.SpinUntil(() => Volatile.Read(ref _running) == 0, TimeSpan.FromSeconds(30));
    }

    /// <summary>Copies the log's new pages into the database file (PASSIVE: never waits for readers or writers), if the log
    /// was written since the last time. Returns whether it ran.</summary>
    internal bool CheckpointIfWritten()
    {
        if (!Enabled || Interlocked.Exchange(ref _running, 1) == 1)
        {
            return false;
        }

        try
        {
            if (_disposed)
            {
                return false;
            }

            // The log of a database that was deleted (a test's, a removed data directory) is gone: nothing to do, and
            // opening a connection would create an empty database in its place.
            var log = new FileInfo(_walPath!);
            if (!log.Exists || log.LastWriteTimeUtc == _checkpointedWrite)
            {
                return false;
            }

            var written = log.LastWriteTimeUtc;
            using var connection = new SqliteConnection(_connectionString);
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA synchronous = NORMAL; PRAGMA wal_checkpoint(PASSIVE);";
            command.ExecuteNonQuery();
            _checkpointedWrite = written;
            Interlocked.Increment(ref _checkpoints);
            return true;
        }
        catch (SqliteException)
        {
            // Busy or locked: the next tick tries again; a failing disk fails the writers themselves.
            return false;
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }
}
