using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using CsvHelper;
using CurWorkflows.Cur.Reading;

namespace CurWorkflows.Cur.Aggregation;

/// <summary>
/// Aggregates the CUR files of one billing period, row by row, into cost per (day, package, resource, product,
/// currency); the daily-package and monthly views are sums of that. Memory grows with the number of distinct
/// aggregates, never with the file size. The state can be saved at a checkpoint and loaded to resume.
/// </summary>
public sealed partial class CostAggregator
{
    private const int StateFormatVersion = 2;
    private const int MaxRecordBytes = 16 << 20;
    private const int UntaggedPackage = 0;
    private const int MaxCostScale = 12;
    private const decimal MaxCostMagnitude = 1_000_000_000_000m;

    // 28 digits with 12 places leave 16 before the point: a sum at or beyond 10^16 may have lost places.
    private const decimal MaxExactSumMagnitude = 10_000_000_000_000_000m;
    private const int MaxDaysPerRowKey = 62;

    private readonly CostAggregationOptions _options;
    private readonly Utf8Table _packages = new();
    private readonly Utf8Table _resources = new();
    private readonly Utf8Table _products = new();
    private readonly Utf8Table _currencies = new();
    private readonly Utf8Table _lineItemTypes = new();
    private readonly List<AmortizedRule> _rules = [];
    private readonly List<long> _rowsByType = [];
    private readonly Dictionary<CostKey, CostAmounts> _costs = [];
    private readonly Utf8Table _rowKeyTable = new();
    private RowKey[] _rowKeys = new RowKey[64];
    private int _rowKeyCount;
    private readonly Dictionary<long, int> _distantDays = [];
    private readonly List<Composite> _composites = [];
    private byte[] _compositeBuffer = new byte[256];
    private readonly List<string> _completedFiles = [];
    private int[] _attributedPackageByResource = [];

    private long _rows;
    private CostAmounts _rowSums;
    private CostAmounts _attributed;
    private long _attributedRows;
    private long _untaggedRows;
    private bool _tagColumnPresent;
    private long _rowsWithoutInvoiceId;
    private readonly List<byte[]> _billingPeriodTexts = [];
    private DateOnly? _billingPeriodStart;

    /// <summary>The line of the first row that named the billing period (in this pass; not saved with the state).</summary>
    private long? _billingPeriodLine;
    private long _decompressedBytes;
    private long _compressedBytes;

    private string? _inProgressFile;
    private string? _inProgressHeader;
    private CurReadPosition? _inProgressPosition;

    public CostAggregator(CostAggregationOptions? options = null)
    {
        _options = options ?? new CostAggregationOptions();
        _packages.GetOrAdd([]);
    }

    public CostAggregationOptions Options => _options;

    /// <summary>Rows aggregated so far, over all files.</summary>
    public long Rows => _rows;

    /// <summary>Distinct (day, package, resource, product, currency) aggregates held.</summary>
    public int AggregateCount
    {
        get
        {
            Flush();
            return _costs.Count;
        }
    }

    public IReadOnlyList<string> CompletedFiles => _completedFiles;

    /// <summary>The cost of every row aggregated so far, summed as the rows are read: what the views' totals reconcile to in
    /// <see cref="GetResult"/>, without building the views.</summary>
    public CostAmounts RowSums => _rowSums;

    /// <summary>The cost of the rows attributed to a package through the resource index so far.</summary>
    public CostAmounts AttributedByResourceIndex => _attributed;

    /// <summary>The file being read when the state was saved, and where its next row starts.</summary>
    public (string File, CurReadPosition Position)? InProgress =>
        _inProgressFile is null || _inProgressPosition is null ? null : (_inProgressFile, _inProgressPosition);

    /// <summary>Aggregates one file; convenience for the usual single-file case.</summary>
    public static CurAggregationResult AggregateFile(CurSource source, CostAggregationOptions? options = null, CancellationToken cancellationToken = default)
    {
        var aggregator = new CostAggregator(options);
        aggregator.AddFile(source, null, cancellationToken);
        return aggregator.GetResult();
    }

    /// <summary>
    /// Reads every row of <paramref name="source"/> into the aggregates. A file already completed in this state is
    /// skipped; the file that was in progress when the state was saved resumes at its checkpoint.
    /// </summary>
    /// <exception cref="ReportMalformedException">The file cannot be read as a CUR; nothing after the bad row is aggregated.</exception>
    public void AddFile(CurSource source, CheckpointOptions? checkpoints = null, CancellationToken cancellationToken = default)
    {
        if (_completedFiles.Contains(source.Name))
        {
            return;
        }

        if (_inProgressFile is not null && _inProgressFile != source.Name)
        {
            throw new InvalidOperationException($"the saved state is in the middle of '{_inProgressFile}', not '{source.Name}'");
        }

        var resumeAt = _inProgressFile == source.Name ? _inProgressPosition : null;
        if (resumeAt is null && checkpoints is null && source.Compression == CurCompression.None && Environment.ProcessorCount > 1
            && TryAddInTwoHalves(source, cancellationToken))
        {
            _completedFiles.Add(source.Name);
            return;
        }

        long? nextCheckpointRows = null;
        if (CompressedInBlocks && source.Compression != CurCompression.None && Environment.ProcessorCount > 1)
        {
            var blocks = new BlockFileReading(this, source, checkpoints, cancellationToken);
            if (blocks.Run(resumeAt, _inProgressHeader))
            {
                _inProgressFile = null;
                _inProgressHeader = null;
                _inProgressPosition = null;
                _completedFiles.Add(source.Name);
                return;
            }

            resumeAt = blocks.FallbackPosition;
            nextCheckpointRows = blocks.NextCheckpointRows;
        }

        var reading = new FileReading(this, source, checkpoints, cancellationToken) { NextCheckpointRows = nextCheckpointRows };
        reading.Run(resumeAt, _inProgressHeader);
        _inProgressFile = null;
        _inProgressHeader = null;
        _inProgressPosition = null;
        _completedFiles.Add(source.Name);
    }

    /// <summary>Builds the views and checks that they add up to the rows read, to the last digit.</summary>
    /// <remarks>Runs once per aggregation: compiled optimized at once rather than first unoptimized (tiered).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public CurAggregationResult GetResult()
    {
        if (_inProgressFile is not null)
        {
            throw new InvalidOperationException($"'{_inProgressFile}' has not been read to its end");
        }

        var packageNames = Strings(_packages);
        var resourceNames = Strings(_resources);
        var productNames = Strings(_products);
        var currencyNames = Strings(_currencies);

        var packageRanks = _packages.OrdinalRanks();
        var resourceRanks = _resources.OrdinalRanks();
        var productRanks = _products.OrdinalRanks();
        var currencyRanks = _currencies.OrdinalRanks();

        // Sorted by ranks of the strings (ints), which is the ordinal order of the strings themselves.
        Flush();
        var keys = _costs.ToArray();
        var order = new SortKey[keys.Length];
        for (var i = 0; i < keys.Length; i++)
        {
            var key = keys[i].Key;
            order[i] = new SortKey(
                ((long)key.Day << 32) | (uint)packageRanks[key.Package],
                ((long)productRanks[key.Product] << 32) | (uint)currencyRanks[key.Currency],
                resourceRanks[key.Resource],
                i);
        }

        Array.Sort(order);
        var sorted = new KeyValuePair<CostKey, CostAmounts>[keys.Length];
        for (var i = 0; i < order.Length; i++)
        {
            sorted[i] = keys[order[i].Index];
        }

        keys = sorted;

        var resources = new List<DailyResourceCost>(keys.Length);
        var dailyList = new List<DailyPackageCost>();
        var monthly = new Dictionary<(DateOnly Month, int Package, int Currency), CostAmounts>();
        CostAmounts totals = default, untagged = default, day = default;
        try
        {
            for (var i = 0; i < keys.Length; i++)
            {
                var (key, cost) = keys[i];
                var date = DateOnly.FromDayNumber(key.Day);
                resources.Add(new DailyResourceCost(date, packageNames[key.Package], resourceNames[key.Resource], productNames[key.Product], currencyNames[key.Currency], cost));
                day += cost;
                if (i + 1 == keys.Length || keys[i + 1].Key with { Resource = 0 } != key with { Resource = 0 })
                {
                    dailyList.Add(new DailyPackageCost(date, packageNames[key.Package], productNames[key.Product], currencyNames[key.Currency], day));
                    day = default;
                }

                ref var month = ref CollectionsMarshal.GetValueRefOrAddDefault(monthly, (new DateOnly(date.Year, date.Month, 1), key.Package, key.Currency), out _);
                month += cost;
                totals += cost;
                if (key.Package == UntaggedPackage)
                {
                    untagged += cost;
                }
            }
        }
        catch (OverflowException e)
        {
            throw new ReportMalformedException(string.Join(", ", _completedFiles), null, null, null, "the costs add up to more than a decimal can hold", e);
        }

        var monthlyList = monthly
            .Select(m => new MonthlyPackageCost(m.Key.Month, packageNames[m.Key.Package], currencyNames[m.Key.Currency], m.Value))
            .OrderBy(m => m.Month).ThenBy(m => m.Package, StringComparer.Ordinal).ThenBy(m => m.Currency, StringComparer.Ordinal)
            .ToList();

        Reconcile("daily resource aggregates", totals);
        Reconcile("daily package aggregates", Sum(dailyList.Select(d => d.Cost)));
        Reconcile("monthly package aggregates", Sum(monthlyList.Select(m => m.Cost)));
        if (IsBeyondExact(_rowSums) || resources.Exists(r => IsBeyondExact(r.Cost)) || dailyList.Exists(d => IsBeyondExact(d.Cost))
            || monthlyList.Exists(m => IsBeyondExact(m.Cost)))
        {
            throw BeyondExact(string.Join(", ", _completedFiles));
        }
        if (_rowsByType.Sum() != _rows)
        {
            throw new InvalidOperationException($"reconciliation failed: {_rowsByType.Sum()} rows by line item type, {_rows} rows read");
        }

        var byType = new SortedDictionary<string, long>(StringComparer.Ordinal);
        for (var i = 0; i < _lineItemTypes.Count; i++)
        {
            byType[_lineItemTypes.GetString(i)] = _rowsByType[i];
        }

        return new CurAggregationResult
        {
            Files = _completedFiles.ToList(),
            Rows = _rows,
            RowsByLineItemType = byType,
            Totals = totals,
            UnblendedRowSum = _rowSums.Unblended,
            Untagged = untagged,
            UntaggedRows = _untaggedRows,
            UntaggedShare = totals.Unblended == 0 ? 0 : untagged.Unblended / totals.Unblended,
            AttributedByResourceIndex = _attributed,
            RowsAttributedByResourceIndex = _attributedRows,
            TagColumn = _options.TagColumn,
            TagColumnPresent = _tagColumnPresent,
            IsFinal = _rows > 0 && _rowsWithoutInvoiceId == 0,
            BillingPeriodStart = _billingPeriodStart ?? (resources.Count > 0 ? new DateOnly(resources[0].UsageDate.Year, resources[0].UsageDate.Month, 1) : null),
            Currencies = currencyNames.Distinct().Order(StringComparer.Ordinal).ToList(),
            DecompressedBytes = _decompressedBytes,
            CompressedBytes = _compressedBytes,
            Daily = dailyList,
            DailyResources = resources,
            Monthly = monthlyList,
        };
    }

    private void Reconcile(string what, CostAmounts sum)
    {
        if (sum != _rowSums)
        {
            if (Math.Abs(_rowSums.Unblended) >= MaxCostMagnitude || Math.Abs(sum.Unblended) >= MaxCostMagnitude
                || Math.Abs(_rowSums.Amortized) >= MaxCostMagnitude || Math.Abs(_rowSums.NetUnblended) >= MaxCostMagnitude)
            {
                throw new ReportMalformedException(string.Join(", ", _completedFiles), null, null, null, "the costs add up to more than decimal sums can hold exactly");
            }


            throw new InvalidOperationException(
                $"reconciliation failed: {what} sum to {sum.Unblended}/{sum.NetUnblended}/{sum.Amortized}, the rows to {_rowSums.Unblended}/{_rowSums.NetUnblended}/{_rowSums.Amortized}");
        }
    }

    /// <summary>
    /// Sums stay exact while they stay below 10^16. Each row is below 10^12, so only a report of thousands of rows near
    /// that bound gets there; the views and the row sums could then round alike and still agree. (A partial sum that
    /// passed the bound and came back below it is not seen: that takes amounts near 10^16 of both signs.)
    /// </summary>
    private static bool IsBeyondExact(CostAmounts sum) =>
        Math.Abs(sum.Unblended) >= MaxExactSumMagnitude || Math.Abs(sum.NetUnblended) >= MaxExactSumMagnitude
        || Math.Abs(sum.Amortized) >= MaxExactSumMagnitude;

    private static ReportMalformedException BeyondExact(string what) =>
        new(what, null, null, null, "the costs add up to 10^16 or more, beyond what decimal sums keep exact to 12 places");

    /// <summary>
    /// Throws <c>report_malformed</c> for a sum at or beyond 10^16: beyond what a decimal keeps exact to 12 places, and
    /// what the stores' amount columns hold. For sums over several files (a period's total), which no single file's
    /// aggregation sees.
    /// </summary>
    public static void ThrowIfBeyondExact(CostAmounts sum, string what)
    {
        if (IsBeyondExact(sum))
        {
            throw BeyondExact(what);
        }
    }

    private static CostAmounts Sum(IEnumerable<CostAmounts> costs)
    {
        CostAmounts total = default;
        foreach (var cost in costs)
        {
            total += cost;
        }

        return total;
    }

    private static string[] Strings(Utf8Table table)
    {
        var strings = new string[table.Count];
        for (var i = 0; i < strings.Length; i++)
        {
            strings[i] = table.GetString(i);
        }

        return strings;
    }

    internal static CsvReaderOptions ReaderOptions() => new()
    {
        Separator = ',',
        HasHeader = false,
        Mode = CsvMode.Rfc4180,
        AllowLineBreaksInQuotes = true,
        SkipEmptyLines = true,
        TrackLineNumbers = true,
        MalformedData = CsvMalformedDataHandling.Throw,
        FieldCountMismatch = CsvFieldCountHandling.Allow,
        MissingField = CsvMissingFieldHandling.ReturnEmpty,
        DetectSeparatorHint = false,
        MaxRecordSize = MaxRecordBytes,
        BufferSize = 1 << 20,
    };

    private readonly record struct CostKey(int Day, int Package, int Resource, int Product, int Currency);

    /// <summary>An aggregate's place in the views' order: (day, package, product, currency, resource) as ranks.</summary>
    private readonly record struct SortKey(long DayPackage, long ProductCurrency, int Resource, int Index) : IComparable<SortKey>
    {
        public int CompareTo(SortKey other)
        {
            var c = DayPackage.CompareTo(other.DayPackage);
            c = c != 0 ? c : ProductCurrency.CompareTo(other.ProductCurrency);
            return c != 0 ? c : Resource.CompareTo(other.Resource);
        }
    }

    /// <summary>Column indexes of one file's header; -1 for a column the file does not have.</summary>
    private sealed class Columns
    {
        public required string[] Names { get; init; }
        public int UsageStartDate { get; init; }
        public int UnblendedCost { get; init; }
        public int LineItemType { get; init; }
        public int NetUnblendedCost { get; init; }
        public int Tag { get; init; }
        public int ResourceId { get; init; }
        public int ProductCode { get; init; }
        public int CurrencyCode { get; init; }
        public int InvoiceId { get; init; }
        public int BillingPeriodStart { get; init; }
        public int SavingsPlanEffectiveCost { get; init; }
        public int SavingsPlanTotalCommitmentToDate { get; init; }
        public int SavingsPlanUsedCommitment { get; init; }
        public int ReservationEffectiveCost { get; init; }
        public int ReservationUnusedAmortizedUpfrontFee { get; init; }
        public int ReservationUnusedRecurringFee { get; init; }
        public int ReservationArn { get; init; }

        public static Columns FromHeader(string[] names, CostAggregationOptions options, string file)
        {
            var index = new Dictionary<string, int>(StringComparer.Ordinal);
            var repeated = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var i = 0; i < names.Length; i++)
            {
                if (!index.TryAdd(names[i], i))
                {
                    repeated.TryAdd(names[i], i);
                }
            }

            // A column the aggregation reads must be there once: with two, which one holds the cost is a guess.
            int Find(string name) =>
                repeated.TryGetValue(name, out var again)
                    ? throw new ReportMalformedException(file, 1, again + 1, name, "the header has this column more than once")
                    : index.TryGetValue(name, out var i) ? i : -1;
            // A file read for a known billing period (a manifest's) must say which period its rows are of: without the
            // column, a file of another month listed there would be added to this one unseen.
            List<string> required = ["lineItem/UsageStartDate", "lineItem/UnblendedCost", "lineItem/LineItemType"];
            if (options.ExpectedBillingPeriod is not null)
            {
                required.Add("bill/BillingPeriodStartDate");
            }

            var missing = required.Where(r => !index.ContainsKey(r)).ToList();
            if (missing.Count > 0)
            {
                throw new ReportMalformedException(file, 1, null, null, $"required column(s) missing from the header: {string.Join(", ", missing)}");
            }

            return new Columns
            {
                Names = names,
                UsageStartDate = Find("lineItem/UsageStartDate"),
                UnblendedCost = Find("lineItem/UnblendedCost"),
                LineItemType = Find("lineItem/LineItemType"),
                NetUnblendedCost = Find("lineItem/NetUnblendedCost"),
                Tag = Find(options.TagColumn),
                ResourceId = Find("lineItem/ResourceId"),
                ProductCode = Find("lineItem/ProductCode"),
                CurrencyCode = Find("lineItem/CurrencyCode"),
                InvoiceId = Find("bill/InvoiceId"),
                BillingPeriodStart = Find("bill/BillingPeriodStartDate"),
                SavingsPlanEffectiveCost = Find("savingsPlan/SavingsPlanEffectiveCost"),
                SavingsPlanTotalCommitmentToDate = Find("savingsPlan/TotalCommitmentToDate"),
                SavingsPlanUsedCommitment = Find("savingsPlan/UsedCommitment"),
                ReservationEffectiveCost = Find("reservation/EffectiveCost"),
                ReservationUnusedAmortizedUpfrontFee = Find("reservation/UnusedAmortizedUpfrontFeeForBillingPeriod"),
                ReservationUnusedRecurringFee = Find("reservation/UnusedRecurringFee"),
                ReservationArn = Find("reservation/ReservationARN"),
            };
        }
    }

    /// <summary>One pass over one file: opening, header, rows, checkpoints and the mapping of failures to report_malformed.</summary>
    private sealed class FileReading(CostAggregator owner, CurSource source, CheckpointOptions? checkpoints, CancellationToken cancellationToken)
    {
        private byte[] _dateA = new byte[64];
        private byte[] _dateB = new byte[64];
        private int _dateALength;
        private int _dateBLength;
        private int _dayA;
        private int _dayB;
        private CsvReader? _reader;
        private long _baseLine;

        /// <summary>The line where the current record starts; asked only for errors and checkpoints (it costs a little).</summary>
        private long CurrentLine => _reader is null || !_reader.Options.TrackLineNumbers ? 0 : _baseLine + _reader.LineNumber;

        /// <summary>Stop before the record that starts at this decompressed offset (the second half's start).</summary>
        public long StopAt { get; set; } = long.MaxValue;

        public bool StoppedAtSplit { get; private set; }

        public bool SplitMismatch { get; private set; }

        public long LineAtSplit { get; private set; }

        /// <summary>The header's columns, once read.</summary>
        public Columns? HeaderColumns { get; private set; }

        /// <summary>The row count at which the next checkpoint is due, when a pass in blocks hands over to this one.</summary>
        public long? NextCheckpointRows { get; init; }

        public void Run(CurReadPosition? resumeAt, string? expectedHeader)
        {
            string[] header;
            string headerText;
            CurDataStream data;
            long baseLine = 0, baseBytes = 0, rowsInFile = 0;
            if (resumeAt is null)
            {
                data = Open();
            }
            else
            {
                using (var headerStream = Open())
                {
                    header = ReadHeader(headerStream, out headerText);
                }

                expectedHeader ??= headerText;
                if (headerText != expectedHeader)
                {
                    throw new InvalidOperationException($"'{source.Name}' has another header than the file the saved state was read from");
                }

                data = Open();
                Guard(() => data.SkipTo(resumeAt.DecompressedBytes));
                baseLine = resumeAt.Line - 1;
                baseBytes = resumeAt.DecompressedBytes;
                rowsInFile = resumeAt.Rows;
            }

            using (data)
            {
                CsvReader? reader = null;
                try
                {
                    reader = CsvReader.Create(data.Data, ReaderOptions(), leaveOpen: true);
                    if (resumeAt is null)
                    {
                        header = ReadHeaderRecord(reader, out headerText);
                    }
                    else
                    {
                        header = SplitHeader(expectedHeader!);
                        headerText = expectedHeader!;
                    }

                    var columns = Columns.FromHeader(header, owner._options, source.Name);
                    HeaderColumns = columns;
                    owner._tagColumnPresent |= columns.Tag >= 0;
                    owner._inProgressFile = source.Name;
                    owner._inProgressHeader = headerText;
                    ReadRows(reader, data, columns, baseLine, baseBytes, rowsInFile);
                    if (StoppedAtSplit)
                    {
                        return;
                    }

                    owner._decompressedBytes += data.Data.Position;
                    owner._compressedBytes += data.CompressedBytesRead;
                }
                catch (CsvFormatException e)
                {
                    var line = e.LineNumber > 0 ? baseLine + e.LineNumber : (CurrentLine > 0 ? CurrentLine : (long?)null);
                    throw new ReportMalformedException(source.Name, line, null, null, $"malformed CSV: {e.Message}", e);
                }
                catch (Exception e) when (e is InvalidDataException or CorruptArchiveException or EndOfStreamException)
                {
                    throw new ReportMalformedException(source.Name, CurrentLine > 0 ? CurrentLine : null, null, null, $"the compressed data is corrupt or truncated: {e.Message}", e);
                }
                finally
                {
                    reader?.Dispose();
                }
            }
        }

        internal CurDataStream Open()
        {
            try
            {
                return CurDataStream.Open(source, readAhead: source.Compression != CurCompression.None);
            }
            catch (InvalidDataException e)
            {
                throw new ReportMalformedException(source.Name, null, null, null, $"the compressed data is corrupt or truncated: {e.Message}", e);
            }
        }

        private void Guard(Action action)
        {
            try
            {
                action();
            }
            catch (Exception e) when (e is InvalidDataException or CorruptArchiveException)
            {
                throw new ReportMalformedException(source.Name, null, null, null, $"the compressed data is corrupt or truncated: {e.Message}", e);
            }
        }

        internal string[] ReadHeader(CurDataStream stream, out string headerText)
        {
            try
            {
                using var reader = CsvReader.Create(stream.Data, ReaderOptions(), leaveOpen: true);
                return ReadHeaderRecord(reader, out headerText);
            }
            catch (CsvFormatException e)
            {
                throw new ReportMalformedException(source.Name, 1, null, null, $"malformed CSV header: {e.Message}", e);
            }
            catch (Exception e) when (e is InvalidDataException or CorruptArchiveException)
            {
                throw new ReportMalformedException(source.Name, 1, null, null, $"the compressed data is corrupt or truncated: {e.Message}", e);
            }
        }

        internal string[] ReadHeaderRecord(CsvReader reader, out string headerText)
        {
            if (!reader.Read())
            {
                throw new ReportMalformedException(source.Name, 1, null, null, "the file is empty: no header row");
            }

            var names = new string[reader.FieldCount];
            for (var i = 0; i < names.Length; i++)
            {
                names[i] = reader.GetString(i);
            }

            // The header is kept in saved state as one line; names cannot contain the separator we join with.
            headerText = string.Join('\n', names);
            return names;
        }

        private static string[] SplitHeader(string headerText) => headerText.Split('\n');

        private void ReadRows(CsvReader reader, CurDataStream data, Columns columns, long baseLine, long baseBytes, long rowsInFile)
        {
            _reader = reader;
            _baseLine = baseLine;
            var everyRows = checkpoints?.EveryRows ?? 0;
            var interval = checkpoints?.Interval ?? TimeSpan.Zero;
            var nextByRows = NextCheckpointRows ?? (everyRows > 0 ? rowsInFile + everyRows : long.MaxValue);
            var clock = Stopwatch.StartNew();
            var lastCheckpointAt = TimeSpan.Zero;
            var lastCheckpointRows = rowsInFile;
            while (reader.Read())
            {
                if (StopAt != long.MaxValue && baseBytes + reader.ByteOffset >= StopAt)
                {
                    if (baseBytes + reader.ByteOffset == StopAt)
                    {
                        StoppedAtSplit = true;
                        LineAtSplit = CurrentLine;
                        return;
                    }

                    // The split point was not a record start (a line break inside quotes): read on alone.
                    StopAt = long.MaxValue;
                    SplitMismatch = true;
                }

                if (checkpoints is not null && rowsInFile > lastCheckpointRows
                    && (rowsInFile >= nextByRows || (interval > TimeSpan.Zero && (rowsInFile & 4095) == 0 && clock.Elapsed - lastCheckpointAt >= interval)))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var position = new CurReadPosition(rowsInFile, CurrentLine, baseBytes + reader.ByteOffset, data.CompressedBytesRead);
                    owner._inProgressPosition = position;
                    checkpoints.OnCheckpoint(owner, new CurCheckpoint(source.Name, position, owner._rows, owner.AggregateCount));
                    nextByRows = everyRows > 0 ? rowsInFile + everyRows : long.MaxValue;
                    lastCheckpointAt = clock.Elapsed;
                    lastCheckpointRows = rowsInFile;
                }
                else if ((rowsInFile & 16383) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                if (reader.FieldCount != columns.Names.Length)
                {
                    throw FieldCountMismatch(reader, columns);
                }

                AggregateRow(reader, columns);
                rowsInFile++;
            }
        }

        /// <summary>Aggregates the records of a block. Line numbers in errors count from the block.</summary>
        internal void AggregateRecords(CsvReader reader, Columns columns)
        {
            while (reader.Read())
            {
                AggregateRecord(reader, columns);
            }
        }

        /// <summary>
        /// As <see cref="AggregateRecords"/>, with a line-tracking reader: returns the line and byte offset where the last
        /// record started (0 and -1 when there was none), from which the block's line count follows.
        /// </summary>
        internal (long Line, long Offset) AggregateTrackedRecords(CsvReader reader, Columns columns)
        {
            long line = 0, offset = -1;
            while (reader.Read())
            {
                line = reader.LineNumber;
                offset = reader.ByteOffset;
                AggregateRecord(reader, columns);
            }

            return (line, offset);
        }

        /// <summary>Aggregates the current record of <paramref name="reader"/> (a record of a block).</summary>
        internal void AggregateRecord(CsvReader reader, Columns columns)
        {
            _reader = reader;
            _baseLine = 0;
            if (reader.FieldCount != columns.Names.Length)
            {
                throw FieldCountMismatch(reader, columns);
            }

            AggregateRow(reader, columns);
        }

        private ReportMalformedException FieldCountMismatch(CsvReader reader, Columns columns)
        {
            var fieldCount = columns.Names.Length;
            var column = Math.Min(reader.FieldCount, fieldCount) + 1;
            return new ReportMalformedException(
                source.Name, CurrentLine, column, column <= fieldCount ? columns.Names[column - 1] : null,
                $"the row has {reader.FieldCount} fields, the header has {fieldCount}");
        }

        private void AggregateRow(CsvReader reader, Columns c)
        {
            var typeText = reader.GetSpan(c.LineItemType);
            if (typeText.IsEmpty)
            {
                throw Malformed(c, c.LineItemType, "the line item type is empty");
            }

            var type = owner._lineItemTypes.GetOrAdd(typeText);
            if (type == owner._rules.Count)
            {
                if (!System.Text.Unicode.Utf8.IsValid(typeText))
                {
                    throw Malformed(c, c.LineItemType, "the value is not valid UTF-8");
                }

                owner._rules.Add(LineItemTypes.RuleOf(owner._lineItemTypes.GetString(type)));
                owner._rowsByType.Add(0);
            }

            var day = UsageDay(reader, c);
            var unblended = Cost(reader, c, c.UnblendedCost);
            var net = unblended;
            if (c.NetUnblendedCost >= 0 && !reader.GetSpan(c.NetUnblendedCost).IsEmpty)
            {
                net = Cost(reader, c, c.NetUnblendedCost);
            }

            var amortized = owner._rules[type] switch
            {
                AmortizedRule.Unblended => unblended,
                AmortizedRule.SavingsPlanEffectiveCost => Cost(reader, c, Needed(c, c.SavingsPlanEffectiveCost, "savingsPlan/SavingsPlanEffectiveCost", type)),
                AmortizedRule.SavingsPlanUnusedCommitment => Difference(reader, c, type),
                AmortizedRule.Zero => 0m,
                AmortizedRule.ReservationEffectiveCost => Cost(reader, c, Needed(c, c.ReservationEffectiveCost, "reservation/EffectiveCost", type)),
                AmortizedRule.ReservationUnusedFees => ReservationUnusedFees(reader, c, type),
                AmortizedRule.FeeUnlessReservation => c.ReservationArn >= 0 && !reader.GetSpan(c.ReservationArn).IsEmpty ? 0m : unblended,
                _ => unblended,
            };

            var amounts = new CostAmounts(unblended, net, amortized);
            int composite;
            try
            {
                composite = owner.CompositeOf(
                    day,
                    c.Tag >= 0 ? reader.GetSpan(c.Tag) : [],
                    c.ResourceId >= 0 ? reader.GetSpan(c.ResourceId) : [],
                    c.ProductCode >= 0 ? reader.GetSpan(c.ProductCode) : [],
                    c.CurrencyCode >= 0 ? reader.GetSpan(c.CurrencyCode) : []);
            }
            catch (InvalidRowKeyValueException e)
            {
                var column = e.Part switch
                {
                    RowKeyPart.Tag => c.Tag,
                    RowKeyPart.Resource => c.ResourceId,
                    RowKeyPart.Product => c.ProductCode,
                    _ => c.CurrencyCode,
                };
                throw Malformed(c, column, e.Message, e);
            }
            try
            {
                ref var aggregate = ref CollectionsMarshal.AsSpan(owner._composites)[composite];
                aggregate.Pending += amounts;
                aggregate.Dirty = true;
                owner._rowSums += amounts;
                if (aggregate.Untagged)
                {
                    owner._untaggedRows++;
                }
                else if (aggregate.Attributed)
                {
                    owner._attributed += amounts;
                    owner._attributedRows++;
                }
            }
            catch (OverflowException e)
            {
                throw new ReportMalformedException(source.Name, CurrentLine, c.UnblendedCost + 1, c.Names[c.UnblendedCost], "the costs add up to more than a decimal can hold", e);
            }

            owner._rowsByType[type]++;
            owner._rows++;

            // Purchases (upfront fees, Marketplace) are invoiced when made: one invoiced row does not make the month final.
            if (c.InvoiceId < 0 || reader.GetSpan(c.InvoiceId).IsEmpty)
            {
                owner._rowsWithoutInvoiceId++;
            }

            if (c.BillingPeriodStart >= 0)
            {
                CheckBillingPeriod(reader, c);
            }
        }

        /// <summary>The UTC day of the row's usage; the last two distinct timestamps are remembered (files mix two forms).</summary>
        private int UsageDay(CsvReader reader, Columns c)
        {
            var text = reader.GetSpan(c.UsageStartDate);
            if (text.SequenceEqual(_dateA.AsSpan(0, _dateALength)) && _dateALength > 0)
            {
                return _dayA;
            }

            if (text.SequenceEqual(_dateB.AsSpan(0, _dateBLength)) && _dateBLength > 0)
            {
                return _dayB;
            }

            if (!Utf8Values.TryParseUtcDay(text, out var day))
            {
                throw Malformed(c, c.UsageStartDate, $"'{Shorten(text)}' is not a date");
            }

            if (text.Length <= _dateB.Length)
            {
                // The older slot makes way: B becomes A, the new one goes to B.
                (_dateA, _dateB) = (_dateB, _dateA);
                (_dateALength, _dayA) = (_dateBLength, _dayB);
                text.CopyTo(_dateB);
                _dateBLength = text.Length;
                _dayB = day.DayNumber;
            }

            return day.DayNumber;
        }

        private void CheckBillingPeriod(CsvReader reader, Columns c)
        {
            var text = reader.GetSpan(c.BillingPeriodStart);
            if (text.IsEmpty)
            {
                return;
            }

            foreach (var known in owner._billingPeriodTexts)
            {
                if (text.SequenceEqual(known))
                {
                    return;
                }
            }

            if (!Utf8Values.TryParseUtcDay(text, out var start))
            {
                throw Malformed(c, c.BillingPeriodStart, $"'{Shorten(text)}' is not a date");
            }

            if (owner._billingPeriodStart is { } period && period != start)
            {
                throw Malformed(c, c.BillingPeriodStart, OtherBillingPeriod(start, period));
            }

            if (owner._options.ExpectedBillingPeriod is { } expected && expected != start)
            {
                throw Malformed(c, c.BillingPeriodStart, $"the row belongs to the billing period starting {start:yyyy-MM-dd}, the file was delivered for the one starting {expected:yyyy-MM-dd}");
            }

            owner._billingPeriodLine ??= CurrentLine;
            owner._billingPeriodStart = start;
            if (owner._billingPeriodTexts.Count < 4)
            {
                owner._billingPeriodTexts.Add(text.ToArray());
            }
        }

        private decimal Cost(CsvReader reader, Columns c, int column)
        {
            if (column < 0)
            {
                return 0m;
            }

            var text = reader.GetSpan(column);
            if (!Utf8Values.TryParseDecimal(text, out var value, out var withinBounds))
            {
                throw Malformed(c, column, $"'{Shorten(text)}' is not a number");
            }

            if (withinBounds)
            {
                return value;
            }

            // Bounds that keep every sum exact: 12 decimal places (CUR writes 10) and 16 integer digits fill the
            // 28 digits of a decimal, and per-row amounts below 10^12 leave room for 10,000 maximal rows. The places are
            // counted on the text: decimal.TryParse rounds what a decimal cannot hold (`1e-50` to 0).
            if (Utf8Values.DecimalPlaces(text) > MaxCostScale)
            {
                throw Malformed(c, column, $"'{Shorten(text)}' has more than {MaxCostScale} decimal places");
            }

            if (value.Scale > MaxCostScale)
            {
                var rounded = decimal.Round(value, MaxCostScale);
                if (rounded != value)
                {
                    throw Malformed(c, column, $"'{Shorten(text)}' has more than {MaxCostScale} decimal places");
                }

                value = rounded;
            }

            if (value is >= MaxCostMagnitude or <= -MaxCostMagnitude)
            {
                throw Malformed(c, column, $"'{Shorten(text)}' is beyond the supported range of ±10^12");
            }

            return value;
        }

        /// <summary>
        /// The column a row's amortized cost comes from. A header without it would make that cost 0 without a word; CUR
        /// has these columns whenever the account has the commitments whose rows need them.
        /// </summary>
        private int Needed(Columns c, int column, string name, int type) =>
            column >= 0
                ? column
                : throw new ReportMalformedException(
                    source.Name, CurrentLine, null, name,
                    $"a {owner._lineItemTypes.GetString(type)} row's amortized cost comes from {name}, which the header lacks");

        private decimal Difference(CsvReader reader, Columns c, int type)
        {
            try
            {
                return Cost(reader, c, Needed(c, c.SavingsPlanTotalCommitmentToDate, "savingsPlan/TotalCommitmentToDate", type))
                    - Cost(reader, c, Needed(c, c.SavingsPlanUsedCommitment, "savingsPlan/UsedCommitment", type));
            }
            catch (OverflowException e)
            {
                throw Malformed(c, c.SavingsPlanTotalCommitmentToDate, "the amount is more than a decimal can hold", e);
            }
        }

        private decimal ReservationUnusedFees(CsvReader reader, Columns c, int type)
        {
            try
            {
                return Cost(reader, c, Needed(c, c.ReservationUnusedAmortizedUpfrontFee, "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod", type))
                    + Cost(reader, c, Needed(c, c.ReservationUnusedRecurringFee, "reservation/UnusedRecurringFee", type));
            }
            catch (OverflowException e)
            {
                throw Malformed(c, c.ReservationUnusedAmortizedUpfrontFee, "the amount is more than a decimal can hold", e);
            }
        }

        private ReportMalformedException Malformed(Columns c, int column, string problem, Exception? inner = null) =>
            new(source.Name, CurrentLine, column + 1, c.Names[column], problem, inner);

        private static string Shorten(ReadOnlySpan<byte> text)
        {
            var value = Encoding.UTF8.GetString(text[..Math.Min(text.Length, 40)]);
            return text.Length > 40 ? value + "..." : value;
        }
    }

    /// <summary>
    /// The id of a row's whole key (day, tag, resource, product, currency). The bytes of tag, resource, product and
    /// currency are looked up in one table, whose entries (few: one per resource and package) stay in the CPU's caches;
    /// each entry finds its day's aggregate in a small array. The per-part ids, the resource index and the untagged
    /// flag are worked out once per distinct key, not once per row.
    /// </summary>
    private int CompositeOf(int day, ReadOnlySpan<byte> tag, ReadOnlySpan<byte> resource, ReadOnlySpan<byte> product, ReadOnlySpan<byte> currency)
    {
        var length = 16 + tag.Length + resource.Length + product.Length + currency.Length;
        if (length > _compositeBuffer.Length)
        {
            _compositeBuffer = new byte[Math.Max(length, _compositeBuffer.Length * 2)];
        }

        var buffer = _compositeBuffer.AsSpan();
        var at = Append(buffer, 0, tag);
        at = Append(buffer, at, resource);
        at = Append(buffer, at, product);
        at = Append(buffer, at, currency);

        var id = _rowKeyTable.GetOrAdd(buffer[..at]);
        if (id == _rowKeyCount)
        {
            // Values are told apart by their bytes and named by their text: two invalid byte sequences would become the
            // same text (replacement characters) and so two results with one name; and each must fit its column. Checked
            // once per new key.
            CheckRowKeyValue(tag, RowKeyPart.Tag);
            CheckRowKeyValue(resource, RowKeyPart.Resource);
            CheckRowKeyValue(product, RowKeyPart.Product);
            CheckRowKeyValue(currency, RowKeyPart.Currency);
            var resourceId = _resources.GetOrAdd(resource);
            var package = _packages.GetOrAdd(tag);
            var attributed = false;
            if (package == UntaggedPackage && _options.ResourceIndex is not null)
            {
                package = AttributedPackage(resourceId);
                attributed = package != UntaggedPackage;
            }

            if (_rowKeyCount == _rowKeys.Length)
            {
                Array.Resize(ref _rowKeys, _rowKeys.Length * 2);
            }

            _rowKeys[_rowKeyCount++] = new RowKey(package, resourceId, _products.GetOrAdd(product), _currencies.GetOrAdd(currency), attributed);
        }

        ref var rowKey = ref _rowKeys[id];
        var index = day - rowKey.FirstDay;
        var days = rowKey.Composites;
        if ((uint)index < (uint)days.Length && days[index] != 0)
        {
            return days[index] - 1;
        }

        return AddComposite(id, ref rowKey, day);
    }

    /// <summary>The problem of a row of billing period <paramref name="row"/> after rows of <paramref name="earlier"/>.</summary>
    private static string OtherBillingPeriod(DateOnly row, DateOnly earlier) =>
        $"the row belongs to the billing period starting {row:yyyy-MM-dd}, earlier rows to {earlier:yyyy-MM-dd}";

    private static void CheckRowKeyValue(ReadOnlySpan<byte> value, RowKeyPart part)
    {
        if (!System.Text.Unicode.Utf8.IsValid(value))
        {
            throw new InvalidRowKeyValueException(part, "the value is not valid UTF-8");
        }

        // A UTF-8 value never has more characters than bytes: only a long one is counted.
        var limit = part switch
        {
            RowKeyPart.Tag => CurValueLimits.Package,
            RowKeyPart.Resource => CurValueLimits.ResourceId,
            RowKeyPart.Product => CurValueLimits.ProductCode,
            _ => CurValueLimits.Currency,
        };
        if (value.Length > limit && System.Text.Encoding.UTF8.GetCharCount(value) is var length && length > limit)
        {
            throw new InvalidRowKeyValueException(part, $"the value is {length} characters long; at most {limit} are stored");
        }
    }

    private enum RowKeyPart
    {
        Tag,
        Resource,
        Product,
        Currency,
    }

    /// <summary>A row key value that is not UTF-8 or too long to store; the row's reader turns it into a located <see cref="ReportMalformedException"/>.</summary>
    private sealed class InvalidRowKeyValueException(RowKeyPart part, string problem) : Exception(problem)
    {
        public RowKeyPart Part { get; } = part;
    }

    private int AddComposite(int rowKeyId, ref RowKey rowKey, int day)
    {
        var composite = _composites.Count;
        if (rowKey.Composites.Length == 0)
        {
            rowKey.FirstDay = day;
            rowKey.Composites = new int[32];
        }

        var lastDay = rowKey.FirstDay + rowKey.Composites.Length - 1;
        var firstDay = Math.Min(rowKey.FirstDay, day);
        var span = (long)Math.Max(lastDay, day) - firstDay + 1;
        if (span <= MaxDaysPerRowKey)
        {
            if (firstDay != rowKey.FirstDay || span > rowKey.Composites.Length)
            {
                var grown = new int[Math.Min(MaxDaysPerRowKey, Math.Max((int)span, rowKey.Composites.Length * 2))];
                rowKey.Composites.CopyTo(grown, rowKey.FirstDay - firstDay);
                rowKey.FirstDay = firstDay;
                rowKey.Composites = grown;
            }

            ref var slot = ref rowKey.Composites[day - rowKey.FirstDay];
            if (slot != 0)
            {
                return slot - 1;
            }

            slot = composite + 1;
        }
        else
        {
            // Days far apart (odd files): a dictionary keeps memory bounded by the aggregates.
            ref var known = ref CollectionsMarshal.GetValueRefOrAddDefault(_distantDays, ((long)rowKeyId << 32) | (uint)day, out var exists);
            if (exists)
            {
                return known;
            }

            known = composite;
        }

        var key = new CostKey(day, rowKey.Package, rowKey.Resource, rowKey.Product, rowKey.Currency);
        _composites.Add(new Composite { Key = key, Untagged = rowKey.Package == UntaggedPackage, Attributed = rowKey.Attributed });
        return composite;
    }

    /// <summary>
    /// A distinct (package, resource, product, currency) and the aggregate ids of its days; a struct in one array, so that
    /// a row's lookup reaches it without another object to load.
    /// </summary>
    private struct RowKey(int package, int resource, int product, int currency, bool attributed)
    {
        public readonly int Package = package;

        public readonly int Resource = resource;

        public readonly int Product = product;

        public readonly int Currency = currency;

        public readonly bool Attributed = attributed;

        public int FirstDay;

        /// <summary>Aggregate id + 1 of each day from <see cref="FirstDay"/>; 0 where the day has none yet.</summary>
        public int[] Composites = [];
    }

    private static int Append(Span<byte> buffer, int at, ReadOnlySpan<byte> part)
    {
        BinaryPrimitives.WriteInt32LittleEndian(buffer[at..], part.Length);
        part.CopyTo(buffer[(at + 4)..]);
        return at + 4 + part.Length;
    }

    /// <summary>Moves the per-key sums of the rows read so far into the aggregates.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Flush()
    {
        var composites = CollectionsMarshal.AsSpan(_composites);
        try
        {
            for (var i = 0; i < composites.Length; i++)
            {
                ref var composite = ref composites[i];
                if (!composite.Dirty)
                {
                    continue;
                }

                ref var cost = ref CollectionsMarshal.GetValueRefOrAddDefault(_costs, composite.Key, out _);
                cost += composite.Pending;
                composite.Pending = default;
                composite.Dirty = false;
            }
        }
        catch (OverflowException e)
        {
            throw new ReportMalformedException(string.Join(", ", _completedFiles), null, null, null, "the costs add up to more than a decimal can hold", e);
        }
    }

    private struct Composite
    {
        public CostKey Key;
        public CostAmounts Pending;
        public bool Untagged;
        public bool Attributed;
        public bool Dirty;
    }

    private int AttributedPackage(int resource)
    {
        if (resource >= _attributedPackageByResource.Length)
        {
            var grown = new int[Math.Max(16, _resources.Count * 2)];
            grown.AsSpan().Fill(-1);
            _attributedPackageByResource.CopyTo(grown, 0);
            _attributedPackageByResource = grown;
        }

        var package = _attributedPackageByResource[resource];
        if (package < 0)
        {
            package = UntaggedPackage;
            var resourceId = _resources.GetString(resource);
            if (resourceId.Length > 0 && _options.ResourceIndex!.TryGetPackage(resourceId, out var name))
            {
                package = _packages.GetOrAdd(Encoding.UTF8.GetBytes(name));
            }

            _attributedPackageByResource[resource] = package;
        }

        return package;
    }
}
