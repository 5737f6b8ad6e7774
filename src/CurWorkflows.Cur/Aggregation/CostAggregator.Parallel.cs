using CurWorkflows.Cur.Reading;

namespace CurWorkflows.Cur.Aggregation;

public sealed partial class CostAggregator
{
    /// <summary>Plain CSV files at least this large are read as two halves on two threads (settable by tests).</summary>
    internal static long ParallelMinimumBytes { get; set; } = 32L << 20;

    /// <summary>Tests: where the second half is looked for, instead of the middle of the file.</summary>
    internal static long? ParallelSplitOverride { get; set; }

    /// <summary>
    /// A seekable plain CSV is read as two halves at once: the second half starts after the first line break past the
    /// middle. A line break can sit inside a quoted field, so the first half confirms that a record really starts
    /// there; if not, the second half's work is dropped and the first half reads on alone. Each half aggregates
    /// into its own state, merged afterwards, so the result is the same as one sequential pass. Not used with
    /// checkpoints (a checkpoint is one position in one sequential pass).
    /// </summary>
    private bool TryAddInTwoHalves(CurSource source, CancellationToken cancellationToken)
    {
        long length, split;
        using (var probe = source.Open())
        {
            if (!probe.CanSeek || probe.Length < Math.Max(ParallelMinimumBytes, 2))
            {
                return false;
            }

            length = probe.Length;
            probe.Seek(ParallelSplitOverride ?? (length / 2), SeekOrigin.Begin);
            var buffer = new byte[1 << 16];
            split = -1;
            var position = probe.Position;
            int read;
            while (split < 0 && (read = probe.Read(buffer)) > 0)
            {
                var newline = buffer.AsSpan(0, read).IndexOf((byte)'\n');
                if (newline >= 0)
                {
                    split = position + newline + 1;
                }

                position += read;
            }

            if (split <= 0 || split >= length)
            {
                return false;
            }
        }

        var bytesBefore = _decompressedBytes;
        var compressedBefore = _compressedBytes;
        using var stopSecond = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var second = new CostAggregator(_options);
        var secondTask = Task.Factory.StartNew(
            () =>
            {
                new FileReading(second, source, null, stopSecond.Token).Run(new CurReadPosition(0, 1, split, 0), null);
            },
            stopSecond.Token,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

        var first = new FileReading(this, source, null, cancellationToken) { StopAt = split };
        try
        {
            first.Run(null, null);
        }
        catch
        {
            stopSecond.Cancel();
            WaitQuietly(secondTask);
            throw;
        }

        if (!first.StoppedAtSplit)
        {
            // The first half read the whole file by itself (the split was inside a quoted field).
            stopSecond.Cancel();
            WaitQuietly(secondTask);
            _inProgressFile = null;
            _inProgressHeader = null;
            _inProgressPosition = null;
            return true;
        }

        try
        {
            secondTask.GetAwaiter().GetResult();
        }
        catch (ReportMalformedException e)
        {
            // The second half counted lines from the split; the first half knows which line that is.
            throw new ReportMalformedException(e.File, e.Line is { } line ? line + first.LineAtSplit - 1 : null, e.Column, e.ColumnName, e.Problem, e);
        }

        if (_billingPeriodStart is { } period && second._billingPeriodStart is { } secondPeriod && period != secondPeriod
            && first.HeaderColumns is { BillingPeriodStart: >= 0 } columns)
        {
            // As one pass would report it: at the first row of the other period, before anything is merged.
            throw new ReportMalformedException(
                source.Name, second._billingPeriodLine is { } line ? line + first.LineAtSplit - 1 : first.LineAtSplit, columns.BillingPeriodStart + 1,
                columns.Names[columns.BillingPeriodStart], OtherBillingPeriod(secondPeriod, period));
        }

        MergeFrom(second, source.Name);
        _inProgressFile = null;
        _inProgressHeader = null;
        _inProgressPosition = null;
        _decompressedBytes = bytesBefore + length;
        _compressedBytes = compressedBefore + length;
        return true;
    }

    private static void WaitQuietly(Task task)
    {
        try
        {
            task.Wait();
        }
        catch (AggregateException)
        {
            // The half that was given up on may fail on what it saw; only the first half's outcome counts.
        }
    }

    /// <summary>Adds another state's aggregates and counters to this one (values are matched by their bytes).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void MergeFrom(CostAggregator other, string file)
    {
        var packages = Map(other._packages, _packages);
        var resources = Map(other._resources, _resources);
        var products = Map(other._products, _products);
        var currencies = Map(other._currencies, _currencies);
        var types = Map(other._lineItemTypes, _lineItemTypes);
        for (var i = 0; i < types.Length; i++)
        {
            while (_rules.Count <= types[i])
            {
                _rules.Add(LineItemTypes.RuleOf(_lineItemTypes.GetString(_rules.Count)));
                _rowsByType.Add(0);
            }

            _rowsByType[types[i]] += other._rowsByType[i];
        }

        try
        {
            void Add(CostKey key, CostAmounts cost)
            {
                var mapped = new CostKey(key.Day, packages[key.Package], resources[key.Resource], products[key.Product], currencies[key.Currency]);
                ref var target = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_costs, mapped, out _);
                target += cost;
            }

            foreach (var (key, cost) in other._costs)
            {
                Add(key, cost);
            }

            // Sums not yet flushed into the other state's dictionary are taken from its aggregates directly.
            foreach (var composite in System.Runtime.InteropServices.CollectionsMarshal.AsSpan(other._composites))
            {
                if (composite.Dirty)
                {
                    Add(composite.Key, composite.Pending);
                }
            }

            _rowSums += other._rowSums;
            _attributed += other._attributed;
        }
        catch (OverflowException e)
        {
            throw new ReportMalformedException(file, null, null, null, "the costs add up to more than a decimal can hold", e);
        }

        _rows += other._rows;
        _attributedRows += other._attributedRows;
        _untaggedRows += other._untaggedRows;
        _tagColumnPresent |= other._tagColumnPresent;
        _rowsWithoutInvoiceId += other._rowsWithoutInvoiceId;
        if (other._billingPeriodStart is { } start)
        {
            if (_billingPeriodStart is { } period && period != start)
            {
                throw new ReportMalformedException(file, null, null, "bill/BillingPeriodStartDate", $"rows of the billing periods starting {period:yyyy-MM-dd} and {start:yyyy-MM-dd}");
            }

            _billingPeriodStart = start;
        }
    }

    private static int[] Map(Utf8Table from, Utf8Table to)
    {
        var map = new int[from.Count];
        for (var i = 0; i < map.Length; i++)
        {
            map[i] = to.GetOrAdd(from[i]);
        }

        return map;
    }
}
