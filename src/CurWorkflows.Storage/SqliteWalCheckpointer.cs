using Microsoft.Data.Sqlite;

namespace CurWorkflows.Storage;

/// <summary>
/// Checkpoints a SQLite database's write-ahead log in the background (<c>Storage:SqliteCheckpointInterval</c>), instead of
/// in the commit that crosses SQLite's threshold of 1,000 pages. That commit would otherwise copy the log into the
/// database file and wait for two fsyncs before it returns: about 50 ms of a 120 ms bulk write of 28,000 cost rows here,
/// and on ext4 each fsync also waits for the dirty pages of a report just downloaded to the same disk. Durability is the
/// same class as before: with <c>synchronous=NORMAL</c> in WAL mode a commit is on disk once a checkpoint has synced the
/// log, and one runs within the interval after any write.
/// <para>
/// After a complete checkpoint the log is started over here too, with a write that changes nothing. The first write to
/// a log starts it over, and that fsyncs the log's header: 50-75 ms in the commit of the first write after a quiet
/// second, while a report's pages are written back to the same disk. The write also cuts the file back to
/// <c>Storage:SqliteWalSizeLimitBytes</c>.
/// </para>
/// </summary>
internal sealed class SqliteWalCheckpointer : IDisposable
{
    private readonly string _connectionString;
    private readonly string? _walPath;
    private readonly TimeSpan _interval;
    private readonly long _walSizeLimitBytes;
    private Timer? _timer;
    private SqliteConnection? _connection;
    private long _seenDataVersion = -1;
    private int _running;
    private long _checkpoints;
    private long _restarts;
    private volatile bool _disposed;

    public SqliteWalCheckpointer(string connectionString, TimeSpan interval, long walSizeLimitBytes)
    {
        // A connection of its own, kept open: PRAGMA data_version only tells a connection about other connections'
        // commits since its own last look. A short wait for the write lock: the log's restart is skipped when it is busy.
        _connectionString = new SqliteConnectionStringBuilder(connectionString) { Pooling = false, DefaultTimeout = 1 }.ConnectionString;
        _interval = interval;
        _walSizeLimitBytes = Math.Max(-1, walSizeLimitBytes);
        var dataSource = new SqliteConnectionStringBuilder(connectionString).DataSource;
        // An in-memory database has no log file; a URI is left to SQLite's own checkpoints.
        _walPath = string.IsNullOrEmpty(dataSource) || dataSource == ":memory:" || dataSource.StartsWith("file:", StringComparison.OrdinalIgnoreCase)
            ? null
            : Path.GetFullPath(dataSource) + "-wal";
    }

    /// <summary>The log's settings for every connection to the database, this class's own included: commits synced at
    /// checkpoints only, and the log cut back to <c>Storage:SqliteWalSizeLimitBytes</c> (-1: no limit) when it starts
    /// over.</summary>
    public string LogPragmas => "PRAGMA synchronous = NORMAL; PRAGMA journal_size_limit = "
        + _walSizeLimitBytes.ToString(System.Globalization.CultureInfo.InvariantCulture) + ";";

    /// <summary>Whether connections should leave checkpoints to this class (turn SQLite's automatic ones off).</summary>
    public bool Enabled => _walPath is not null && _interval > TimeSpan.Zero;

    /// <summary>Checkpoints run so far that found new writes in the log.</summary>
    internal long Checkpoints => Interlocked.Read(ref _checkpoints);

    /// <summary>Writes made here to start the log over after a complete checkpoint (SQLite leaves a log that a reader
    /// still uses as it is, and the write is then appended).</summary>
    internal long Restarts => Interlocked.Read(ref _restarts);

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

    /// <summary>Stops the checkpoints, waits for one already running and closes the connection: whoever disposes the
    /// database's last user may delete its files next, and a checkpoint's connection would create them again.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Interlocked.MemoryBarrier();
        Interlocked.Exchange(ref _timer, null)?.Dispose();
        // Taken for good: no checkpoint runs after this.
        if (SpinWait.SpinUntil(() => Interlocked.CompareExchange(ref _running, 1, 0) == 0, TimeSpan.FromSeconds(30)))
        {
            _connection?.Dispose();
            _connection = null;
        }
    }

    /// <summary>Copies the log's new pages into the database file (PASSIVE: never waits for readers or writers), if another
    /// connection committed since the last time, and starts the log over when the copy was complete. Returns whether it
    /// ran.</summary>
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
            // opening a connection would create an empty database in its place. (While the connection is open, only
            // something else deletes it.)
            if (!File.Exists(_walPath))
            {
                _connection?.Dispose();
                _connection = null;
                _seenDataVersion = -1;
                return false;
            }

            _connection ??= Open();

            var dataVersion = Scalar("PRAGMA data_version");
            if (dataVersion == _seenDataVersion)
            {
                return false;
            }

            using (var checkpoint = _connection.CreateCommand())
            {
                checkpoint.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
                using var result = checkpoint.ExecuteReader();
                result.Read();
                var (busy, logFrames, checkpointedFrames) = (result.GetInt64(0), result.GetInt64(1), result.GetInt64(2));
                // A log of one frame is left as it is: it may be another process's or factory's restart, and answering
                // it with one of our own would start a restart for restart ping-pong between them.
                if (busy == 0 && logFrames > 1 && checkpointedFrames == logFrames)
                {
                    result.Close();
                    RestartLog(dataVersion);
                }
            }

            _seenDataVersion = dataVersion;
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

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = LogPragmas;
            command.ExecuteNonQuery();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Starts the log over with a write that changes nothing (user_version set to its own value), unless another
    /// connection committed since <paramref name="dataVersion"/>: its pages are in the log, for the next tick.</summary>
    private void RestartLog(long dataVersion)
    {
        try
        {
            using var transaction = _connection!.BeginTransaction();
            if (Scalar("PRAGMA data_version", transaction) != dataVersion)
            {
                return;
            }

            var userVersion = Scalar("PRAGMA user_version", transaction);
            using var command = _connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "PRAGMA user_version = " + userVersion.ToString(System.Globalization.CultureInfo.InvariantCulture) + ";";
            command.ExecuteNonQuery();
            transaction.Commit();
            Interlocked.Increment(ref _restarts);
        }
        catch (SqliteException)
        {
            // Busy: a writer is at work, and starts the log over itself.
        }
    }

    private long Scalar(string sql, SqliteTransaction? transaction = null)
    {
        using var command = _connection!.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
