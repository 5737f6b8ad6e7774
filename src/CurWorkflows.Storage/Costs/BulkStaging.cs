using System.Data;
using System.Data.Common;
using System.Globalization;
using System.Text;
using CurWorkflows.Storage.Entities;
using Microsoft.Data.SqlClient;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;
using SQLitePCL;

namespace CurWorkflows.Storage.Costs;

/// <summary>
/// Bulk writes of a run's cost rows straight into the cost tables under the run's id (a generation readers do not
/// see until the replace makes it active), bypassing change tracking: PostgreSQL binary COPY, SQL Server
/// SqlBulkCopy, SQLite one prepared INSERT reused. Each call writes one chunk in the caller's transaction.
/// </summary>
internal static class BulkStaging
{
    /// <summary>Writes one chunk inside <paramref name="transaction"/> (the caller commits).</summary>
    public static Task WriteAsync(
        CurWorkflowsDbContext context, CostTable table, StagingKey key, Guid organizationId, IReadOnlyList<FlatCost> rows, DbTransaction transaction,
        CancellationToken cancellationToken) =>
        context.Provider switch
        {
            StorageProvider.PostgreSql => WritePostgreSqlAsync((NpgsqlConnection)context.Database.GetDbConnection(), table, key, organizationId, rows, cancellationToken),
            StorageProvider.SqlServer => WriteSqlServerAsync((SqlConnection)context.Database.GetDbConnection(), (SqlTransaction)transaction, table, key, organizationId, rows, cancellationToken),
            _ => WriteSqliteAsync((SqliteConnection)context.Database.GetDbConnection(), table, key, organizationId, rows, cancellationToken),
        };

    /// <summary>The text form EF Core's SQLite provider stores GUIDs in.</summary>
    internal static string SqliteGuid(Guid value) => value.ToString().ToUpperInvariant();

    private static Task WriteSqliteAsync(
        SqliteConnection connection, CostTable table, StagingKey key, Guid organizationId, IReadOnlyList<FlatCost> rows, CancellationToken cancellationToken)
    {
        var database = connection.Handle!;
        var values = string.Join(", ", Enumerable.Repeat("?", table.BulkColumns.Count));
        var rc = raw.sqlite3_prepare_v2(database, $"INSERT INTO {table.Table} ({string.Join(", ", table.BulkColumns)}) VALUES ({values})", out var statement);
        SqliteException.ThrowExceptionForRC(rc, database);
        using (statement)
        {
            // Bound by position straight through SQLitePCLRaw: Microsoft.Data.Sqlite looks every parameter up by name
            // on every execution, which cost about half of the CPU of a bulk write. Text forms are the ones
            // Microsoft.Data.Sqlite (and so EF Core) writes, so that reads and comparisons see the same values. Values
            // are written as UTF-8 into one scratch buffer (SQLite copies each bound value) instead of a string each.
            var text = new Utf8Scratch();
            text.Bind(statement, 1, SqliteGuid(organizationId));
            text.Bind(statement, 2, SqliteGuid(key.IntegrationId));
            text.BindDate(statement, 3, key.BillingPeriod);
            text.Bind(statement, 4, SqliteGuid(key.CollectionRunId));
            for (var i = 0; i < rows.Count; i++)
            {
                if ((i & 0xFFF) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                var row = rows[i];
                var p = 5;
                text.BindDate(statement, p++, row.Date);
                text.Bind(statement, p++, row.Package);
                if (table.HasResource)
                {
                    text.Bind(statement, p++, row.ResourceId);
                }

                if (table.HasProduct)
                {
                    text.Bind(statement, p++, row.ProductCode);
                }

                text.Bind(statement, p++, row.Currency);
                text.BindDecimal(statement, p++, row.Cost.Unblended);
                text.BindDecimal(statement, p++, row.Cost.NetUnblended);
                text.BindDecimal(statement, p, row.Cost.Amortized);
                rc = raw.sqlite3_step(statement);
                if (rc != raw.SQLITE_DONE)
                {
                    SqliteException.ThrowExceptionForRC(rc, database);
                }

                raw.sqlite3_reset(statement);
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Writes <paramref name="value"/> as UTF-8 in the text Microsoft.Data.Sqlite binds a decimal as (its format string
    /// "0.0###########################": every digit, at least one decimal place), at a fraction of the cost of a custom
    /// format string: the general format keeps every digit of the scale, so the text only needs its trailing zeros
    /// trimmed down to one decimal place. Returns the length written.
    /// </summary>
    internal static int FormatSqliteDecimal(decimal value, Span<byte> destination)
    {
        if (!value.TryFormat(destination, out var written, default, CultureInfo.InvariantCulture))
        {
            throw new ArgumentException("the destination is too short for a decimal", nameof(destination));
        }

        var point = destination[..written].IndexOf((byte)'.');
        if (point < 0)
        {
            destination[written++] = (byte)'.';
            destination[written++] = (byte)'0';
            return written;
        }

        while (written > point + 2 && destination[written - 1] == (byte)'0')
        {
            written--;
        }

        return written;
    }

    /// <summary>A reusable UTF-8 buffer for binding text values.</summary>
    private sealed class Utf8Scratch
    {
        // A decimal needs at most 31 characters (sign, 29 digits, point) plus the ".0" appended.
        private const int DecimalBytes = 34;
        private byte[] _buffer = new byte[512];

        public void Bind(sqlite3_stmt statement, int index, string value)
        {
            var needed = Encoding.UTF8.GetMaxByteCount(value.Length);
            if (needed > _buffer.Length)
            {
                _buffer = new byte[Math.Max(needed, _buffer.Length * 2)];
            }

            var length = Encoding.UTF8.GetBytes(value, _buffer);
            Check(raw.sqlite3_bind_text(statement, index, _buffer.AsSpan(0, length)), index);
        }

        public void BindDate(sqlite3_stmt statement, int index, DateOnly value)
        {
            if (!value.TryFormat(_buffer, out var length, @"yyyy\-MM\-dd", CultureInfo.InvariantCulture))
            {
                throw new InvalidOperationException("a date does not fit the scratch buffer");
            }

            Check(raw.sqlite3_bind_text(statement, index, _buffer.AsSpan(0, length)), index);
        }

        public void BindDecimal(sqlite3_stmt statement, int index, decimal value)
        {
            var length = FormatSqliteDecimal(value, _buffer.AsSpan(0, DecimalBytes));
            Check(raw.sqlite3_bind_text(statement, index, _buffer.AsSpan(0, length)), index);
        }

        private static void Check(int rc, int index)
        {
            if (rc != raw.SQLITE_OK)
            {
                throw new SqliteException($"binding value {index} of a bulk insert failed", rc);
            }
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
        SqlConnection connection, SqlTransaction transaction, CostTable table, StagingKey key, Guid organizationId, IReadOnlyList<FlatCost> rows, CancellationToken cancellationToken)
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

        using var bulkCopy = new SqlBulkCopy(connection, SqlBulkCopyOptions.CheckConstraints, transaction)
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
