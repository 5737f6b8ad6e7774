using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace CurWorkflows.Storage;

/// <summary>
/// Per-connection SQLite settings for bulk writes: a 64 MB page cache (index inserts of a million rows in a 2 MB
/// cache thrash), temporary b-trees in memory, and synchronous=NORMAL, which in WAL mode never corrupts the file
/// and at worst loses the last commits on power loss (a collection run re-ingests them). Checkpoints are left to
/// <see cref="SqliteWalCheckpointer"/> when it is enabled. The write that starts the log over after a complete
/// checkpoint (usually the checkpointer's) cuts it back to <c>Storage:SqliteWalSizeLimitBytes</c>. A statement that
/// finds the database locked waits in SQLite's busy handler (steps of 1-100 ms) for up to the command timeout: without
/// it, Microsoft.Data.Sqlite retries it every 150 ms, so a lock held for 5 ms cost the other writer 150.
/// </summary>
internal sealed class SqlitePragmaInterceptor(SqliteWalCheckpointer checkpointer, TimeSpan busyTimeout) : DbConnectionInterceptor
{
    private readonly string _pragmas = "PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY; " + checkpointer.LogPragmas
        + $" PRAGMA busy_timeout = {((int)Math.Clamp(busyTimeout.TotalMilliseconds, 0, int.MaxValue)).ToString(System.Globalization.CultureInfo.InvariantCulture)};"
        + (checkpointer.Enabled ? " PRAGMA wal_autocheckpoint = 0;" : "");

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        using var command = connection.CreateCommand();
        command.CommandText = _pragmas;
        command.ExecuteNonQuery();
        checkpointer.EnsureStarted();
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = _pragmas;
        await command.ExecuteNonQueryAsync(cancellationToken);
        checkpointer.EnsureStarted();
    }
}
