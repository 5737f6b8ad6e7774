using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace CurWorkflows.Storage;

/// <summary>
/// Per-connection SQLite settings for bulk writes: a 64 MB page cache (index inserts of a million rows in a 2 MB
/// cache thrash), temporary b-trees in memory, and synchronous=NORMAL, which in WAL mode never corrupts the file
/// and at worst loses the last commits on power loss (a collection run re-ingests them).
/// </summary>
internal sealed class SqlitePragmaInterceptor : DbConnectionInterceptor
{
    public static SqlitePragmaInterceptor Instance { get; } = new();

    private const string Pragmas = "PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY; PRAGMA synchronous = NORMAL;";

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Apply(connection);

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = Pragmas;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void Apply(DbConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = Pragmas;
        command.ExecuteNonQuery();
    }
}
