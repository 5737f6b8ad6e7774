using System.Text;

namespace CurWorkflows.Cur.Aggregation;

public sealed partial class CostAggregator
{
    private static readonly byte[] StateMagic = "CURAGG"u8.ToArray();

    /// <summary>
    /// Writes the whole aggregation state (aggregates, counters, completed files, and the position in the file being
    /// read) so that <see cref="Load"/> can resume. Its size grows with the number of aggregates, not with the rows.
    /// </summary>
    public void Save(Stream stream)
    {
        Flush();
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(StateMagic);
        writer.Write(StateFormatVersion);
        writer.Write(_options.TagKey);
        _packages.Write(writer);
        _resources.Write(writer);
        _products.Write(writer);
        _currencies.Write(writer);
        _lineItemTypes.Write(writer);
        foreach (var count in _rowsByType)
        {
            writer.Write(count);
        }

        writer.Write(_costs.Count);
        foreach (var (key, cost) in _costs)
        {
            writer.Write(key.Day);
            writer.Write(key.Package);
            writer.Write(key.Resource);
            writer.Write(key.Product);
            writer.Write(key.Currency);
            Write(writer, cost);
        }

        writer.Write(_rows);
        Write(writer, _rowSums);
        Write(writer, _attributed);
        writer.Write(_attributedRows);
        writer.Write(_untaggedRows);
        writer.Write(_tagColumnPresent);
        writer.Write(_rowsWithoutInvoiceId);
        writer.Write(_billingPeriodStart is not null);
        if (_billingPeriodStart is { } start)
        {
            writer.Write(start.DayNumber);
        }

        writer.Write(_decompressedBytes);
        writer.Write(_compressedBytes);
        writer.Write(_completedFiles.Count);
        foreach (var file in _completedFiles)
        {
            writer.Write(file);
        }

        writer.Write(_inProgressFile is not null && _inProgressPosition is not null);
        if (_inProgressFile is not null && _inProgressPosition is not null)
        {
            writer.Write(_inProgressFile);
            writer.Write(_inProgressHeader!);
            writer.Write(_inProgressPosition.Rows);
            writer.Write(_inProgressPosition.Line);
            writer.Write(_inProgressPosition.DecompressedBytes);
            writer.Write(_inProgressPosition.CompressedBytesRead);
        }
    }

    /// <summary>Reads a state written by <see cref="Save"/>. The options must name the same tag key.</summary>
    /// <exception cref="InvalidDataException">The stream is not a saved state of this format, or of another tag key.</exception>
    public static CostAggregator Load(Stream stream, CostAggregationOptions? options = null)
    {
        options ??= new CostAggregationOptions();
        try
        {
            using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
            if (!reader.ReadBytes(StateMagic.Length).AsSpan().SequenceEqual(StateMagic) || reader.ReadInt32() != StateFormatVersion)
            {
                throw new InvalidDataException("not a saved CUR aggregation state of this version");
            }

            var tagKey = reader.ReadString();
            if (tagKey != options.TagKey)
            {
                throw new InvalidDataException($"the saved state was aggregated with tag key '{tagKey}', not '{options.TagKey}'");
            }

            var aggregator = new CostAggregator(options);
            Replace(aggregator._packages, reader);
            Replace(aggregator._resources, reader);
            Replace(aggregator._products, reader);
            Replace(aggregator._currencies, reader);
            Replace(aggregator._lineItemTypes, reader);
            for (var i = 0; i < aggregator._lineItemTypes.Count; i++)
            {
                aggregator._rules.Add(LineItemTypes.RuleOf(aggregator._lineItemTypes.GetString(i)));
                aggregator._rowsByType.Add(reader.ReadInt64());
            }

            var costs = reader.ReadInt32();
            aggregator._costs.EnsureCapacity(costs);
            for (var i = 0; i < costs; i++)
            {
                var key = new CostKey(reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32());
                aggregator._costs.Add(key, ReadAmounts(reader));
            }

            aggregator._rows = reader.ReadInt64();
            aggregator._rowSums = ReadAmounts(reader);
            aggregator._attributed = ReadAmounts(reader);
            aggregator._attributedRows = reader.ReadInt64();
            aggregator._untaggedRows = reader.ReadInt64();
            aggregator._tagColumnPresent = reader.ReadBoolean();
            aggregator._rowsWithoutInvoiceId = reader.ReadInt64();
            if (reader.ReadBoolean())
            {
                aggregator._billingPeriodStart = DateOnly.FromDayNumber(reader.ReadInt32());
            }

            aggregator._decompressedBytes = reader.ReadInt64();
            aggregator._compressedBytes = reader.ReadInt64();
            var completed = reader.ReadInt32();
            for (var i = 0; i < completed; i++)
            {
                aggregator._completedFiles.Add(reader.ReadString());
            }

            if (reader.ReadBoolean())
            {
                aggregator._inProgressFile = reader.ReadString();
                aggregator._inProgressHeader = reader.ReadString();
                aggregator._inProgressPosition = new CurReadPosition(reader.ReadInt64(), reader.ReadInt64(), reader.ReadInt64(), reader.ReadInt64());
            }

            return aggregator;
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("the saved CUR aggregation state is truncated", e);
        }
    }

    private static void Replace(Reading.Utf8Table target, BinaryReader reader)
    {
        var loaded = Reading.Utf8Table.Read(reader);
        if (target.Count > loaded.Count)
        {
            throw new InvalidDataException("saved aggregation state lacks the untagged package");
        }

        for (var i = 0; i < loaded.Count; i++)
        {
            if (target.GetOrAdd(loaded[i]) != i)
            {
                throw new InvalidDataException("saved aggregation state has an unexpected value order");
            }
        }
    }

    private static void Write(BinaryWriter writer, CostAmounts amounts)
    {
        writer.Write(amounts.Unblended);
        writer.Write(amounts.NetUnblended);
        writer.Write(amounts.Amortized);
    }

    private static CostAmounts ReadAmounts(BinaryReader reader) => new(reader.ReadDecimal(), reader.ReadDecimal(), reader.ReadDecimal());
}
