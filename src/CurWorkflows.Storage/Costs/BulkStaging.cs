using System.Data;
using CurWorkflows.Storage.Entities;
using Microsoft.Data.SqlClient;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;

namespace CurWorkflows.Storage.Costs;

/// <summary>
/// Bulk writes of a run's cost rows straight into the cost tables under the run's id (a generation readers do not
/// see until the replace makes it active), bypassing change tracking: PostgreSQL binary COPY, SQL Server
/// SqlBulkCopy, SQLite one prepared INSERT reused in one transaction. Each call writes one chunk and commits it.
/// </summary>
internal static class BulkStaging
{
    public static Task WriteAsync(
        CurWorkflowsDbContext context, CostTable table, StagingKey key, Guid organizationId, IReadOnlyList<FlatCost> rows, CancellationToken cancellationToken) =>
        context.Provider switch
        {
            StorageProvider.PostgreSql => WritePostgreSqlAsync((NpgsqlConnection)context.Database.GetDbConnection(), table, key, organizationId, rows, cancellationToken),
            StorageProvider.SqlServer => WriteSqlServerAsync((SqlConnection)context.Database.GetDbConnection(), table, key, organizationId, rows, cancellationToken),
            _ => WriteSqliteAsync((SqliteConnection)context.Database.GetDbConnection(), table, key, organizationId, rows, cancellationToken),
        };

    /// <summary>The text form EF Core's SQLite provider stores GUIDs in.</summary>
    internal static string SqliteGuid(Guid value) => value.ToString().ToUpperInvariant();

    private static async Task WriteSqliteAsync(
        SqliteConnection connection, CostTable table, StagingKey key, Guid organizationId, IReadOnlyList<FlatCost> rows, CancellationToken cancellationToken)
    {
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await using var many = CreateSqliteInsert(connection, transaction, table, key, organizationId, SqliteRowsPerStatement);
        await using var one = CreateSqliteInsert(connection, transaction, table, key, organizationId, 1);
        var index = 0;
        for (; index + SqliteRowsPerStatement <= rows.Count; index += SqliteRowsPerStatement)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Bind(many, table, rows, index, SqliteRowsPerStatement);
            many.ExecuteNonQuery();
        }

        for (; index < rows.Count; index++)
        {
            Bind(one, table, rows, index, 1);
            one.ExecuteNonQuery();
        }

        await transaction.CommitAsync(cancellationToken);
    }

    // A few rows per INSERT amortise the per-statement overhead; many rows cost more, as Microsoft.Data.Sqlite looks
    // parameters up by name on every execution (64 rows per statement measured twice as slow as 8).
    private const int SqliteRowsPerStatement = 8;

    private static SqliteCommand CreateSqliteInsert(
        SqliteConnection connection, SqliteTransaction transaction, CostTable table, StagingKey key, Guid organizationId, int rowsPerStatement)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        var rowColumns = table.KeyColumns.Count + 3;
        var tuples = Enumerable.Range(0, rowsPerStatement).Select(r =>
            "($organization, $integration, $period, $run, " + string.Join(", ", Enumerable.Range(0, rowColumns).Select(c => $"$v{(r * rowColumns) + c}")) + ")");
        command.CommandText = $"INSERT INTO {table.Table} ({string.Join(", ", table.BulkColumns)}) VALUES {string.Join(", ", tuples)}";
        command.Parameters.Add("$organization", SqliteType.Text).Value = SqliteGuid(organizationId);
        command.Parameters.Add("$integration", SqliteType.Text).Value = SqliteGuid(key.IntegrationId);
        command.Parameters.Add("$period", SqliteType.Text).Value = key.BillingPeriod;
        command.Parameters.Add("$run", SqliteType.Text).Value = SqliteGuid(key.CollectionRunId);
        for (var i = 0; i < rowsPerStatement * rowColumns; i++)
        {
            command.Parameters.Add($"$v{i}", SqliteType.Text);
        }

        command.Prepare();
        return command;
    }

    private static void Bind(SqliteCommand command, CostTable table, IReadOnlyList<FlatCost> rows, int start, int count)
    {
        var parameters = command.Parameters;
        var p = 4;
        for (var i = start; i < start + count; i++)
        {
            var row = rows[i];
            parameters[p++].Value = row.Date;
            parameters[p++].Value = row.Package;
            if (table.HasResource)
            {
                parameters[p++].Value = row.ResourceId;
            }

            if (table.HasProduct)
            {
                parameters[p++].Value = row.ProductCode;
            }

            parameters[p++].Value = row.Currency;
            parameters[p++].Value = row.Cost.Unblended;
            parameters[p++].Value = row.Cost.NetUnblended;
            parameters[p++].Value = row.Cost.Amortized;
        }
    }

    private static async Task WritePostgreSqlAsync(
        NpgsqlConnection connection, CostTable table, StagingKey key, Guid organizationId, IReadOnlyList<FlatCost> rows, CancellationToken cancellationToken)
    {
        var copy = $"COPY {table.Table} ({string.Join(", ", table.BulkColumns)}) FROM STDIN (FORMAT BINARY)";
        await using var importer = await connection.BeginBinaryImportAsync(copy, cancellationToken);
        // Synchronous writes: they only block when the buffer flushes to the socket, and per-value awaits cost more
        // than the copy itself at a million rows.
        foreach (var row in rows)
        {
            cancellationToken.ThrowIfCancellationRequested();
            importer.StartRow();
            importer.Write(organizationId, NpgsqlDbType.Uuid);
            importer.Write(key.IntegrationId, NpgsqlDbType.Uuid);
            importer.Write(key.BillingPeriod, NpgsqlDbType.Date);
            importer.Write(key.CollectionRunId, NpgsqlDbType.Uuid);
            importer.Write(row.Date, NpgsqlDbType.Date);
            importer.Write(row.Package, NpgsqlDbType.Varchar);
            if (table.HasResource)
            {
                importer.Write(row.ResourceId, NpgsqlDbType.Varchar);
            }

            if (table.HasProduct)
            {
                importer.Write(row.ProductCode, NpgsqlDbType.Varchar);
            }

            importer.Write(row.Currency, NpgsqlDbType.Varchar);
            importer.Write(row.Cost.Unblended, NpgsqlDbType.Numeric);
            importer.Write(row.Cost.NetUnblended, NpgsqlDbType.Numeric);
            importer.Write(row.Cost.Amortized, NpgsqlDbType.Numeric);
        }

        await importer.CompleteAsync(cancellationToken);
    }

    private static async Task WriteSqlServerAsync(
        SqlConnection connection, CostTable table, StagingKey key, Guid organizationId, IReadOnlyList<FlatCost> rows, CancellationToken cancellationToken)
    {
        using var data = new DataTable(table.Table) { Locale = System.Globalization.CultureInfo.InvariantCulture };
        data.Columns.Add("organization_id", typeof(Guid));
        data.Columns.Add("integration_id", typeof(Guid));
        data.Columns.Add("billing_period", typeof(DateTime));
        data.Columns.Add("collection_run_id", typeof(Guid));
        data.Columns.Add(table.DateColumn, typeof(DateTime));
        data.Columns.Add("package", typeof(string));
        if (table.HasResource)
        {
            data.Columns.Add("resource_id", typeof(string));
        }

        if (table.HasProduct)
        {
            data.Columns.Add("product_code", typeof(string));
        }

        data.Columns.Add("currency", typeof(string));
        data.Columns.Add("unblended", typeof(decimal));
        data.Columns.Add("net_unblended", typeof(decimal));
        data.Columns.Add("amortized", typeof(decimal));
        var period = key.BillingPeriod.ToDateTime(TimeOnly.MinValue);
        foreach (var row in rows)
        {
            var values = new List<object>(13) { organizationId, key.IntegrationId, period, key.CollectionRunId, row.Date.ToDateTime(TimeOnly.MinValue), row.Package };
            if (table.HasResource)
            {
                values.Add(row.ResourceId);
            }

            if (table.HasProduct)
            {
                values.Add(row.ProductCode);
            }

            values.AddRange([row.Currency, row.Cost.Unblended, row.Cost.NetUnblended, row.Cost.Amortized]);
            data.Rows.Add([.. values]);
        }

        using var bulkCopy = new SqlBulkCopy(connection, SqlBulkCopyOptions.CheckConstraints | SqlBulkCopyOptions.UseInternalTransaction, null)
        {
            DestinationTableName = table.Table,
            BatchSize = 0,
            BulkCopyTimeout = 0,
        };
        foreach (DataColumn column in data.Columns)
        {
            bulkCopy.ColumnMappings.Add(column.ColumnName, column.ColumnName);
        }

        await bulkCopy.WriteToServerAsync(data, cancellationToken);
    }
}
