using System.Globalization;
using System.Text;

namespace CurWorkflows.ReportGenerator;

/// <summary>
/// Writes a realistic legacy CUR CSV (every line item type, RI and Savings Plan columns, discounts, tax, credits,
/// odd tag keys and values, quoted multi-line descriptions) row by row to a stream, and sums its own truth.
/// </summary>
public static class CurReportGenerator
{
    private const string Account = "123456789012";
    private const string PayerAccount = "210987654321";

    private static readonly string[] OddTagColumns =
    [
        "resourceTags/user:Cost Center", "resourceTags/aws:cloudformation:stack-id", "resourceTags/user:team/sub=x+y@z",
    ];

    private static readonly (string Code, string Name, string UsageType, string Operation, string Unit)[] Products =
    [
        ("AmazonEC2", "Amazon Elastic Compute Cloud", "USE1-BoxUsage:t3.micro", "RunInstances", "Hrs"),
        ("AmazonS3", "Amazon Simple Storage Service", "USE1-TimedStorage-ByteHrs", "StandardStorage", "GB-Mo"),
        ("AWSLambda", "AWS Lambda", "USE1-Lambda-GB-Second", "Invoke", "Lambda-GB-Second"),
        ("AmazonRDS", "Amazon Relational Database Service", "USE1-InstanceUsage:db.t3.small", "CreateDBInstance:0014", "Hrs"),
        ("AmazonCloudWatch", "AmazonCloudWatch", "USE1-CW:MetricMonitorUsage", "MetricStorage", "Metrics"),
        ("AWSELB", "Elastic Load Balancing", "USE1-LoadBalancerUsage", "LoadBalancing:Application", "Hrs"),
    ];

    private static readonly string[] Descriptions =
    [
        "$0.0104 per On Demand Linux t3.micro Instance Hour",
        "$0.023 per GB-month of storage used, Standard tier, first 50 TB",
        "AWS Lambda - Total Compute - US East (N. Virginia), \"arm64\" included",
        "db.t3.small, Single-AZ\ninstance hour (or partial hour), running PostgreSQL",
        "First 10,000 metrics, \"custom\" and detailed",
        "$0.0225 per Application LoadBalancer-hour (or partial hour)",
    ];

    private static readonly (string Type, int Weight)[] TypeWeights =
    [
        ("Usage", 700), ("DiscountedUsage", 60), ("SavingsPlanCoveredUsage", 60), ("SavingsPlanNegation", 40),
        ("SavingsPlanUpfrontFee", 5), ("SavingsPlanRecurringFee", 15), ("RIFee", 15), ("Fee", 15), ("Credit", 20),
        ("Refund", 10), ("Tax", 30), ("Discount", 10), ("BundledDiscount", 5), ("EdpDiscount", 10), ("PrivateRateDiscount", 5),
    ];

    /// <summary>Writes the CSV (uncompressed) to <paramref name="output"/>, which stays open.</summary>
    public static GeneratedReportTruth Write(Stream output, ReportGeneratorOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(options.Rows);
        var counting = new CountingWriteStream(output);
        var truth = new TruthBuilder();
        using (var writer = new StreamWriter(counting, new UTF8Encoding(options.ByteOrderMark), 1 << 16, leaveOpen: true))
        {
            writer.NewLine = options.LineEnding;
            var columns = ColumnsOf(options);
            WriteRecord(writer, columns);
            var rows = new RowWriter(options, columns, truth);
            var values = new string[columns.Count];
            for (long row = 0; row < options.Rows; row++)
            {
                rows.Fill(row, values);
                WriteRecord(writer, values);
            }
        }

        return truth.Build(options, counting.BytesWritten, ColumnsOf(options).Count);
    }

    /// <summary>The header: `category/name` column names of a report with these options.</summary>
    public static List<string> ColumnsOf(ReportGeneratorOptions options)
    {
        var columns = new List<string>
        {
            "identity/LineItemId", "identity/TimeInterval", "bill/InvoiceId", "bill/BillingEntity", "bill/BillType",
            "bill/PayerAccountId", "bill/BillingPeriodStartDate", "bill/BillingPeriodEndDate", "lineItem/UsageAccountId",
            "lineItem/LineItemType", "lineItem/UsageStartDate", "lineItem/UsageEndDate", "lineItem/ProductCode",
            "lineItem/UsageType", "lineItem/Operation", "lineItem/AvailabilityZone",
        };
        if (options.IncludeResourceIds)
        {
            columns.Add("lineItem/ResourceId");
        }

        columns.AddRange(
        [
            "lineItem/UsageAmount", "lineItem/NormalizationFactor", "lineItem/NormalizedUsageAmount", "lineItem/CurrencyCode",
            "lineItem/UnblendedRate", "lineItem/UnblendedCost", "lineItem/BlendedRate", "lineItem/BlendedCost",
            "lineItem/LineItemDescription", "lineItem/TaxType", "lineItem/LegalEntity",
        ]);
        if (options.IncludeNetUnblendedCost)
        {
            columns.AddRange(["lineItem/NetUnblendedRate", "lineItem/NetUnblendedCost"]);
        }

        columns.AddRange(["product/ProductName", "product/region", "product/servicecode", "product/sku", "pricing/term", "pricing/unit", "pricing/publicOnDemandCost"]);
        if (options.WideColumns)
        {
            columns.AddRange(FillerColumns.Select(f => f.Name));
        }

        columns.AddRange(
        [
            "reservation/EffectiveCost", "reservation/ReservationARN", "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
            "reservation/UnusedRecurringFee", "reservation/AmortizedUpfrontFeeForBillingPeriod",
            "savingsPlan/SavingsPlanARN", "savingsPlan/SavingsPlanEffectiveCost", "savingsPlan/TotalCommitmentToDate",
            "savingsPlan/UsedCommitment", "savingsPlan/SavingsPlanRate", "discount/TotalDiscount",
        ]);
        columns.AddRange(OddTagColumns);
        if (options.IncludeTagColumn)
        {
            columns.Add("resourceTags/" + options.TagKey);
        }

        return columns;
    }

    /// <summary>Extra columns of a wide report: real CUR names, values from small pools.</summary>
    private static readonly (string Name, string[] Values)[] FillerColumns = CreateFillers();

    private static (string Name, string[] Values)[] CreateFillers()
    {
        string[] names =
        [
            "product/accessType", "product/availability", "product/availabilityZone", "product/bundle", "product/capacitystatus",
            "product/category", "product/clockSpeed", "product/computeFamily", "product/currentGeneration", "product/databaseEngine",
            "product/dedicatedEbsThroughput", "product/deploymentOption", "product/description", "product/durability", "product/ecu",
            "product/endpointType", "product/enhancedNetworkingSupported", "product/eventType", "product/feeCode", "product/feeDescription",
            "product/fromLocation", "product/fromLocationType", "product/group", "product/groupDescription", "product/instanceFamily",
            "product/instanceType", "product/instanceTypeFamily", "product/intelAvx2Available", "product/intelAvxAvailable",
            "product/intelTurboAvailable", "product/licenseModel", "product/location", "product/locationType", "product/marketoption",
            "product/maxIopsBurstPerformance", "product/maxIopsvolume", "product/maxThroughputvolume", "product/maxVolumeSize",
            "product/memory", "product/networkPerformance", "product/normalizationSizeFactor", "product/operatingSystem",
            "product/operation", "product/physicalProcessor", "product/preInstalledSw", "product/processorArchitecture",
            "product/processorFeatures", "product/productFamily", "product/regionCode", "product/servicename", "product/storage",
            "product/storageClass", "product/storageMedia", "product/tenancy", "product/toLocation", "product/toLocationType",
            "product/transferType", "product/usagetype", "product/vcpu", "product/version", "product/volumeApiName", "product/volumeType",
            "pricing/LeaseContractLength", "pricing/OfferingClass", "pricing/PurchaseOption", "pricing/RateCode", "pricing/RateId",
            "pricing/currency", "pricing/publicOnDemandRate", "reservation/AmortizedUpfrontCostForUsage", "reservation/EndTime",
            "reservation/ModificationStatus", "reservation/NormalizedUnitsPerReservation", "reservation/NumberOfReservations",
            "reservation/RecurringFeeForUsage", "reservation/StartTime", "reservation/SubscriptionId",
            "reservation/TotalReservedNormalizedUnits", "reservation/TotalReservedUnits", "reservation/UnitsPerReservation",
            "reservation/UnusedNormalizedUnitQuantity", "reservation/UnusedQuantity", "reservation/UpfrontValue",
            "savingsPlan/AmortizedUpfrontCommitmentForBillingPeriod", "savingsPlan/RecurringCommitmentForBillingPeriod",
            "savingsPlan/Region", "savingsPlan/PurchaseTerm", "savingsPlan/PaymentOption", "savingsPlan/EndTime", "savingsPlan/StartTime",
            "savingsPlan/OfferingType", "discount/EdpDiscount", "discount/BundledDiscount", "discount/PrivateRateDiscount",
        ];
        string[][] pools =
        [
            ["", "Yes", "No"], ["", "General Purpose", "Compute Optimized", "Standard"], ["", "us-east-1a", "us-east-1b", "eu-west-1c"],
            ["", "Intel Xeon Platinum 8259CL", "AWS Graviton2 Processor"], ["", "Used", "UnusedCapacityReservation"],
            ["", "2.5 GHz", "Up to 3.1 GHz"], ["", "US East (N. Virginia)", "EU (Ireland)", "Asia Pacific (Tokyo)"],
            ["", "99.999999999%", "99.99%"], ["", "1yr", "3yr"], ["", "NoUpfront", "PartialUpfront", "AllUpfront"],
            ["", "8 GiB", "16 GiB", "0.5 GiB"], ["", "Up to 5 Gigabit", "Up to 25 Gigabit", "10 Gigabit"],
            ["", "Linux", "Windows", "NA"], ["", "2", "4", "8", "16"], ["", "Shared", "Dedicated"],
            ["", "1.0", "2.0", "0.5"], ["", "AWS Region", "AWS Edge Location"], ["", "ComputeSavingsPlans", "EC2InstanceSavingsPlans"],
        ];
        // 70 of them make about 120 columns in all, like a real report with resources and a few tags.
        return names.Take(70).Select((name, i) => (name, pools[i % pools.Length])).ToArray();
    }

    private static void WriteRecord(StreamWriter writer, IReadOnlyList<string> values)
    {
        for (var i = 0; i < values.Count; i++)
        {
            if (i > 0)
            {
                writer.Write(',');
            }

            var value = values[i];
            if (value.AsSpan().IndexOfAny(",\"\r\n") >= 0)
            {
                writer.Write('"');
                writer.Write(value.Replace("\"", "\"\"", StringComparison.Ordinal));
                writer.Write('"');
            }
            else
            {
                writer.Write(value);
            }
        }

        writer.WriteLine();
    }

    private sealed class TruthBuilder
    {
        public long Rows;
        public decimal Unblended;
        public decimal Net;
        public decimal Amortized;
        public decimal Untagged;
        public decimal Attributable;
        public readonly SortedDictionary<string, long> ByType = new(StringComparer.Ordinal);
        public readonly Dictionary<(DateOnly, string), decimal> Daily = [];
        public readonly Dictionary<string, string> Arns = new(StringComparer.Ordinal);

        public GeneratedReportTruth Build(ReportGeneratorOptions options, long bytes, int columns) => new()
        {
            Rows = Rows,
            Bytes = bytes,
            Columns = columns,
            Unblended = Unblended,
            NetUnblended = Net,
            Amortized = Amortized,
            UntaggedUnblended = Untagged,
            RowsByLineItemType = ByType,
            DailyPackageUnblended = Daily,
            TaggingApiPackagesByArn = Arns,
            TaggingApiAttributableUnblended = Attributable,
            Final = options.Final,
        };
    }

    /// <summary>Makes the values of each row and adds them to the truth.</summary>
    private sealed class RowWriter
    {
        private readonly ReportGeneratorOptions _options;
        private readonly TruthBuilder _truth;
        private readonly Random _random;
        private readonly Dictionary<string, int> _index;
        private readonly int _days;
        private readonly int _totalWeight;
        private readonly int[] _fillerColumns;

        public RowWriter(ReportGeneratorOptions options, List<string> columns, TruthBuilder truth)
        {
            _options = options;
            _truth = truth;
            _random = new Random(options.Seed);
            _index = columns.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => x.i, StringComparer.Ordinal);
            _days = options.Days ?? DateTime.DaysInMonth(options.BillingPeriodStart.Year, options.BillingPeriodStart.Month);
            _totalWeight = TypeWeights.Sum(t => t.Weight);
            _fillerColumns = options.WideColumns ? FillerColumns.Select(f => _index[f.Name]).ToArray() : [];
        }

        public void Fill(long row, string[] values)
        {
            Array.Fill(values, "");
            var random = _random;
            var type = PickType(random.Next(_totalWeight));
            var day = _options.BillingPeriodStart.AddDays((int)(row * _days / Math.Max(1, _options.Rows)));
            var product = Products[random.Next(Products.Length)];
            var periodStart = _options.BillingPeriodStart.ToDateTime(TimeOnly.MinValue);
            var periodEnd = periodStart.AddMonths(1);
            var start = type is "Tax" or "RIFee" or "SavingsPlanRecurringFee" or "SavingsPlanUpfrontFee" ? periodStart : day.ToDateTime(TimeOnly.MinValue);
            var end = type is "Tax" or "RIFee" or "SavingsPlanRecurringFee" or "SavingsPlanUpfrontFee" ? periodEnd : start.AddDays(1);
            var millis = (row & 1) == 0;

            // Who pays: usage-like rows go to a package, or stay untagged; tax, credits and fees mostly untagged.
            var usageLike = type is "Usage" or "DiscountedUsage" or "SavingsPlanCoveredUsage" or "SavingsPlanNegation";
            var packageIndex = random.Next(_options.Packages.Count);
            var package = _options.Packages.Count == 0 ? "" : _options.Packages[packageIndex];
            var roll = random.NextDouble();
            var taggingApiOnly = usageLike && _options.IncludeResourceIds && roll < _options.TaggingApiOnlyFraction;
            var tagged = usageLike ? roll >= _options.TaggingApiOnlyFraction + _options.UntaggedUsageFraction : type is "Credit" && roll < 0.5;
            if (!tagged)
            {
                package = "";
            }

            var resourceNumber = random.Next(8);
            var (resourceId, arn) = Resource(product.Code, taggingApiOnly ? "hidden" : "r", packageIndex, resourceNumber);

            decimal unblended, amortized;
            decimal? net = null;
            var usageAmount = Money(1, 1_000_000, 6);
            switch (type)
            {
                case "Usage":
                    unblended = Cost(50_000_000_000);
                    amortized = unblended;
                    break;
                case "DiscountedUsage":
                    unblended = 0m;
                    amortized = Cost(20_000_000_000);
                    Set(values, "reservation/EffectiveCost", amortized);
                    Set(values, "reservation/ReservationARN", $"arn:aws:ec2:us-east-1:{Account}:reserved-instances/ri-{resourceNumber:x8}");
                    break;
                case "SavingsPlanCoveredUsage":
                    unblended = Cost(30_000_000_000);
                    amortized = unblended * 0.7m;
                    Set(values, "savingsPlan/SavingsPlanEffectiveCost", amortized);
                    Set(values, "savingsPlan/SavingsPlanRate", Money(1, 99_999, 6));
                    Set(values, "savingsPlan/SavingsPlanARN", $"arn:aws:savingsplans::{Account}:savingsplan/sp-{resourceNumber:x6}");
                    break;
                case "SavingsPlanNegation":
                    unblended = -Cost(30_000_000_000);
                    amortized = 0m;
                    Set(values, "savingsPlan/SavingsPlanARN", $"arn:aws:savingsplans::{Account}:savingsplan/sp-{resourceNumber:x6}");
                    break;
                case "SavingsPlanUpfrontFee":
                    unblended = Cost(9_000_000_000_000);
                    amortized = 0m;
                    break;
                case "SavingsPlanRecurringFee":
                    {
                        unblended = Cost(500_000_000_000);
                        var total = unblended;
                        var used = new decimal(_random.NextInt64(0, (long)(total * 10_000_000_000m) + 1)) / 10_000_000_000m;
                        Set(values, "savingsPlan/TotalCommitmentToDate", total);
                        Set(values, "savingsPlan/UsedCommitment", used);
                        amortized = total - used;
                        break;
                    }

                case "RIFee":
                    {
                        unblended = Cost(400_000_000_000);
                        var unusedUpfront = Cost(50_000_000_000);
                        var unusedRecurring = Cost(50_000_000_000);
                        Set(values, "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod", unusedUpfront);
                        Set(values, "reservation/UnusedRecurringFee", unusedRecurring);
                        Set(values, "reservation/AmortizedUpfrontFeeForBillingPeriod", Cost(100_000_000_000));
                        Set(values, "reservation/ReservationARN", $"arn:aws:ec2:us-east-1:{Account}:reserved-instances/ri-{resourceNumber:x8}");
                        amortized = unusedUpfront + unusedRecurring;
                        break;
                    }

                case "Fee":
                    unblended = Cost(2_000_000_000_000);
                    if (roll < 0.5)
                    {
                        // An RI's upfront fee: amortized over the term elsewhere, so 0 here.
                        Set(values, "reservation/ReservationARN", $"arn:aws:ec2:us-east-1:{Account}:reserved-instances/ri-{resourceNumber:x8}");
                        amortized = 0m;
                    }
                    else
                    {
                        amortized = unblended;
                    }

                    break;
                case "Tax":
                    unblended = Cost(100_000_000_000);
                    amortized = unblended;
                    values[_index["lineItem/TaxType"]] = "VAT";
                    break;
                default:
                    // Credit, Refund and the discounts: negative money.
                    unblended = -Cost(20_000_000_000);
                    amortized = unblended;
                    break;
            }

            var unblendedText = Text(unblended);
            if (type == "Usage" && (row % 97) == 5)
            {
                // AWS occasionally writes tiny amounts in scientific notation.
                var mantissa = random.Next(10_000, 100_000);
                unblended = new decimal(mantissa, 0, 0, false, 9);
                amortized = unblended;
                unblendedText = $"{mantissa / 10_000}.{mantissa % 10_000:D4}E-5";
            }

            if (_options.IncludeNetUnblendedCost && type != "Tax")
            {
                net = type == "Usage" ? unblended * 0.95m : unblended;
                Set(values, "lineItem/NetUnblendedCost", net.Value);
                values[_index["lineItem/NetUnblendedRate"]] = "0.0950000000";
            }

            // Truth, by the rules, from the values just chosen.
            _truth.Rows++;
            _truth.Unblended += unblended;
            _truth.Net += net ?? unblended;
            _truth.Amortized += amortized;
            _truth.ByType[type] = _truth.ByType.GetValueOrDefault(type) + 1;
            var packageInFile = _options.IncludeTagColumn ? package : "";
            var dayKey = (DateOnly.FromDateTime(start), packageInFile);
            _truth.Daily[dayKey] = _truth.Daily.GetValueOrDefault(dayKey) + unblended;
            if (packageInFile.Length == 0)
            {
                _truth.Untagged += unblended;
            }

            if (taggingApiOnly && _options.Packages.Count > 0)
            {
                _truth.Arns[arn] = _options.Packages[packageIndex];
                if (packageInFile.Length == 0)
                {
                    _truth.Attributable += unblended;
                }
            }

            values[_index["identity/LineItemId"]] = $"{_options.Seed:x4}{row:x12}qz7w4k2x5a3c";
            values[_index["identity/TimeInterval"]] = $"{Timestamp(start, false)}/{Timestamp(end, false)}";
            values[_index["bill/InvoiceId"]] = _options.Final ? "EUINGB24-123456" : "";
            values[_index["bill/BillingEntity"]] = type == "Fee" && roll >= 0.5 ? "AWS Marketplace" : "AWS";
            values[_index["bill/BillType"]] = "Anniversary";
            values[_index["bill/PayerAccountId"]] = PayerAccount;
            values[_index["bill/BillingPeriodStartDate"]] = Timestamp(periodStart, millis);
            values[_index["bill/BillingPeriodEndDate"]] = Timestamp(periodEnd, millis);
            values[_index["lineItem/UsageAccountId"]] = Account;
            values[_index["lineItem/LineItemType"]] = type;
            values[_index["lineItem/UsageStartDate"]] = Timestamp(start, millis);
            values[_index["lineItem/UsageEndDate"]] = Timestamp(end, millis);
            values[_index["lineItem/ProductCode"]] = product.Code;
            values[_index["lineItem/UsageType"]] = product.UsageType;
            values[_index["lineItem/Operation"]] = product.Operation;
            values[_index["lineItem/AvailabilityZone"]] = usageLike ? "us-east-1a" : "";
            if (_options.IncludeResourceIds && usageLike)
            {
                values[_index["lineItem/ResourceId"]] = resourceId;
            }

            values[_index["lineItem/UsageAmount"]] = usageAmount;
            values[_index["lineItem/NormalizationFactor"]] = product.Code == "AmazonEC2" ? "0.5" : "";
            values[_index["lineItem/NormalizedUsageAmount"]] = product.Code == "AmazonEC2" ? usageAmount : "";
            values[_index["lineItem/CurrencyCode"]] = "USD";
            values[_index["lineItem/UnblendedRate"]] = Money(1, 9_999_999, 7);
            values[_index["lineItem/UnblendedCost"]] = unblendedText;
            var discount = type.EndsWith("Discount", StringComparison.Ordinal);
            values[_index["lineItem/BlendedRate"]] = discount ? "" : Money(1, 9_999_999, 7);
            values[_index["lineItem/BlendedCost"]] = discount ? "" : unblendedText;
            values[_index["lineItem/LineItemDescription"]] = type switch
            {
                "Tax" => "Tax for product code " + product.Code + ", \"VAT\" 20%",
                "Credit" => "AWS Credit, promotional: \"startup\"\r\nprogram",
                _ => Descriptions[Array.IndexOf(Products, product)],
            };
            values[_index["lineItem/LegalEntity"]] = "Amazon Web Services, Inc.";
            values[_index["product/ProductName"]] = product.Name;
            values[_index["product/region"]] = "us-east-1";
            values[_index["product/servicecode"]] = product.Code;
            values[_index["product/sku"]] = $"SKU{random.Next(1000, 9999)}ABCDEFGH";
            values[_index["pricing/term"]] = type == "Usage" ? "OnDemand" : "Reserved";
            values[_index["pricing/unit"]] = product.Unit;
            values[_index["pricing/publicOnDemandCost"]] = Money(0, 99_999_999, 8);
            if (discount)
            {
                Set(values, "discount/TotalDiscount", unblended);
            }

            foreach (var column in _fillerColumns)
            {
                var pool = FillerColumns[column - _fillerColumns[0]].Values;
                values[column] = pool[random.Next(pool.Length)];
            }

            values[_index[OddTagColumns[0]]] = roll < 0.3 ? "R&D / 42" : "";
            values[_index[OddTagColumns[1]]] = roll < 0.2 ? $"arn:aws:cloudformation:us-east-1:{Account}:stack/app-{packageIndex}/6a1c-\"x\"" : "";
            values[_index[OddTagColumns[2]]] = roll > 0.9 ? "a=b+c@d e" : "";
            if (_options.IncludeTagColumn)
            {
                values[_index["resourceTags/" + _options.TagKey]] = package;
            }
        }

        private static string PickType(int pick)
        {
            foreach (var (type, weight) in TypeWeights)
            {
                if (pick < weight)
                {
                    return type;
                }

                pick -= weight;
            }

            return "Usage";
        }

        private void Set(string[] values, string column, decimal value) => values[_index[column]] = Text(value);

        private void Set(string[] values, string column, string value) => values[_index[column]] = value;

        /// <summary>A cost with 10 decimal places, up to maxUnits x 1e-10.</summary>
        private decimal Cost(long maxUnits) => new decimal(_random.NextInt64(1, maxUnits)) / 10_000_000_000m;

        private string Money(long min, long max, int scale) =>
            Text(new decimal(_random.NextInt64(min, Math.Max(min + 1, max))) / Pow10(scale));

        private static decimal Pow10(int scale)
        {
            var value = 1m;
            for (var i = 0; i < scale; i++)
            {
                value *= 10;
            }

            return value;
        }

        private static string Text(decimal value) => value.ToString(CultureInfo.InvariantCulture);

        private static string Timestamp(DateTime time, bool millis) =>
            time.ToString(millis ? "yyyy-MM-dd'T'HH:mm:ss.fff'Z'" : "yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

        private static (string ResourceId, string Arn) Resource(string productCode, string kind, int package, int number)
        {
            var id = $"{kind}{package:x2}{number:x4}";
            return productCode switch
            {
                "AmazonEC2" => ($"i-0{id}", $"arn:aws:ec2:us-east-1:{Account}:instance/i-0{id}"),
                "AWSLambda" => ($"arn:aws:lambda:us-east-1:{Account}:function:fn-{id}", $"arn:aws:lambda:us-east-1:{Account}:function:fn-{id}"),
                "AmazonS3" => ($"bucket-{id}", $"arn:aws:s3:::bucket-{id}"),
                "AmazonRDS" => ($"arn:aws:rds:us-east-1:{Account}:db:db-{id}", $"arn:aws:rds:us-east-1:{Account}:db:db-{id}"),
                "AWSELB" => ($"arn:aws:elasticloadbalancing:us-east-1:{Account}:loadbalancer/app/lb-{id}/50dc6c495c0c9188", $"arn:aws:elasticloadbalancing:us-east-1:{Account}:loadbalancer/app/lb-{id}/50dc6c495c0c9188"),
                _ => ($"metric-{id}", $"arn:aws:cloudwatch:us-east-1:{Account}:alarm:metric-{id}"),
            };
        }
    }

    private sealed class CountingWriteStream(Stream inner) : Stream
    {
        public long BytesWritten { get; private set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => BytesWritten; set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            inner.Write(buffer);
            BytesWritten += buffer.Length;
        }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
