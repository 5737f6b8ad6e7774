using Npgsql;

namespace CurWorkflows.Service.Tests.Infrastructure;

/// <summary>
/// The database of one provider for a service test host: a SQLite file in the test's work directory, or a fresh
/// PostgreSQL database (on CURWORKFLOWS_TEST_POSTGRES's server) that is dropped again on dispose.
/// </summary>
public sealed class ServiceTestDatabase : IAsyncDisposable
{
    private readonly string? postgresDatabase;

    private ServiceTestDatabase(string connectionString, string? postgresDatabase)
    {
        ConnectionString = connectionString;
        this.postgresDatabase = postgresDatabase;
    }

    public string ConnectionString { get; }

    /// <param name="provider">"Sqlite" or "PostgreSql" (the Storage:Provider value).</param>
    /// <param name="workDirectory">Where the SQLite file goes.</param>
    /// <param name="purpose">Prefix of the PostgreSQL database's name.</param>
    public static ServiceTestDatabase Create(string provider, string workDirectory, string purpose)
    {
        if (provider == "Sqlite")
        {
            return new ServiceTestDatabase($"Data Source={Path.Combine(workDirectory, "curworkflows.db")}", null);
        }

        var admin = TestEnvironment.PostgresConnectionString
            ?? throw new InvalidOperationException("CURWORKFLOWS_TEST_POSTGRES is not set.");
        var database = $"cw_{purpose}_{Guid.NewGuid():N}";
        return new ServiceTestDatabase(new NpgsqlConnectionStringBuilder(admin) { Database = database }.ConnectionString, database);
    }

    public async ValueTask DisposeAsync()
    {
        if (postgresDatabase is not null && TestEnvironment.PostgresConnectionString is { } admin)
        {
            NpgsqlConnection.ClearAllPools();
            await using var connection = new NpgsqlConnection(admin);
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{postgresDatabase}\" WITH (FORCE)", connection);
            await drop.ExecuteNonQueryAsync();
        }
    }
}
