using System.Text;
using CurWorkflows.Storage.Costs;
using Microsoft.Data.Sqlite;

namespace CurWorkflows.Storage.Tests;

/// <summary>
/// The bulk write binds decimals as text itself; the text must be exactly what Microsoft.Data.Sqlite (and so EF Core)
/// writes for the same decimal, or rows written by the two paths would compare and read differently.
/// </summary>
public sealed class SqliteDecimalTextTests
{
    [Fact]
    public void Bulk_text_is_the_text_Microsoft_Data_Sqlite_binds()
    {
        var random = new Random(20261126);
        var values = new List<decimal>
        {
            0m, -0m, 0.000m, -0.000m, 1m, -1m, 1.5m, 1.50m, 10m, 100.00m, 0.0000000001m, -0.0000000001m,
            0.0000000000000000000000000001m, 12345678901234.567890123402m, decimal.MaxValue, decimal.MinValue,
        };
        for (var i = 0; i < 20_000; i++)
        {
            values.Add(new decimal(
                random.Next(), random.Next(3) == 0 ? random.Next() : 0, random.Next(5) == 0 ? random.Next() : 0, random.Next(2) == 0, (byte)random.Next(0, 29)));
        }

        using var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        using (var create = connection.CreateCommand())
        {
            create.CommandText = "CREATE TABLE amounts (i INTEGER PRIMARY KEY, amount TEXT)";
            create.ExecuteNonQuery();
        }

        using (var transaction = connection.BeginTransaction())
        using (var insert = connection.CreateCommand())
        {
            insert.CommandText = "INSERT INTO amounts (i, amount) VALUES ($i, $amount)";
            var index = insert.Parameters.Add("$i", SqliteType.Integer);
            var amount = insert.Parameters.Add("$amount", SqliteType.Text);
            for (var i = 0; i < values.Count; i++)
            {
                index.Value = i;
                amount.Value = values[i];
                insert.ExecuteNonQuery();
            }

            transaction.Commit();
        }

        using var select = connection.CreateCommand();
        select.CommandText = "SELECT i, amount FROM amounts ORDER BY i";
        using var reader = select.ExecuteReader();
        var compared = 0;
        var buffer = new byte[34];
        while (reader.Read())
        {
            var value = values[reader.GetInt32(0)];
            var bulk = Encoding.UTF8.GetString(buffer, 0, BulkStaging.FormatSqliteDecimal(value, buffer));
            Assert.True(reader.GetString(1) == bulk, $"{value}: Microsoft.Data.Sqlite wrote '{reader.GetString(1)}', the bulk write '{bulk}'");
            compared++;
        }

        Assert.Equal(values.Count, compared);
    }
}
