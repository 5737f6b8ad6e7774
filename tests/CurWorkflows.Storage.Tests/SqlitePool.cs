using Microsoft.Data.Sqlite;

namespace CurWorkflows.Storage.Tests;

/// <summary>
/// Closes the pooled connections of one SQLite database before a test deletes it. Not SqliteConnection.ClearAllPools:
/// test classes run in parallel, and clearing another test's pool can close the last connection to its database, on
/// which SQLite checkpoints the log that test may be measuring (SqliteCheckpointTests' log size check failed that way
/// when run beside MigrationTests).
/// </summary>
internal static class SqlitePool
{
    public static void Clear(string connectionString)
    {
        using var connection = new SqliteConnection(connectionString);
        SqliteConnection.ClearPool(connection);
    }
}
