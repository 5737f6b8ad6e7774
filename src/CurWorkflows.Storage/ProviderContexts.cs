using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace CurWorkflows.Storage;

public enum StorageProvider
{
    Sqlite = 0,
    PostgreSql = 1,
    SqlServer = 2,
}

/// <summary>SQLite: owns the migrations in Migrations/Sqlite.</summary>
public sealed class SqliteCurWorkflowsDbContext(DbContextOptions<SqliteCurWorkflowsDbContext> options)
    : CurWorkflowsDbContext(options)
{
    public override StorageProvider Provider => StorageProvider.Sqlite;

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // SQLite has no date-time-offset type; as sortable integers, ORDER BY and range filters translate.
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<DateTimeOffsetToBinaryConverter>();
        configurationBuilder.Properties<DateTimeOffset?>().HaveConversion<DateTimeOffsetToBinaryConverter>();
    }
}

/// <summary>PostgreSQL (Npgsql): owns the migrations in Migrations/PostgreSql.</summary>
public sealed class PostgreSqlCurWorkflowsDbContext(DbContextOptions<PostgreSqlCurWorkflowsDbContext> options)
    : CurWorkflowsDbContext(options)
{
    public override StorageProvider Provider => StorageProvider.PostgreSql;
}

/// <summary>SQL Server: owns the migrations in Migrations/SqlServer.</summary>
public sealed class SqlServerCurWorkflowsDbContext(DbContextOptions<SqlServerCurWorkflowsDbContext> options)
    : CurWorkflowsDbContext(options)
{
    /// <summary>Compares by code point, as the other databases compare text for equality.</summary>
    public const string TextCollation = "Latin1_General_100_BIN2";

    public override StorageProvider Provider => StorageProvider.SqlServer;

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // A server's default collation (the image's SQL_Latin1_General_CP1_CI_AS) ignores case: the packages `web` and
        // `Web`, which AWS tells apart, would be one in filters, in grouping and in the cost tables' unique indexes.
        configurationBuilder.Properties<string>().UseCollation(TextCollation);
    }
}
