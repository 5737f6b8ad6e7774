namespace CurWorkflows.Cur.Aggregation;

/// <summary>`lineItem/LineItemType` values and how each one's amortized cost is computed (see docs/core.md).</summary>
public static class LineItemTypes
{
    public const string Usage = "Usage";
    public const string DiscountedUsage = "DiscountedUsage";
    public const string SavingsPlanCoveredUsage = "SavingsPlanCoveredUsage";
    public const string SavingsPlanNegation = "SavingsPlanNegation";
    public const string SavingsPlanUpfrontFee = "SavingsPlanUpfrontFee";
    public const string SavingsPlanRecurringFee = "SavingsPlanRecurringFee";
    public const string RIFee = "RIFee";
    public const string Fee = "Fee";
    public const string Credit = "Credit";
    public const string Refund = "Refund";
    public const string Tax = "Tax";
    public const string Discount = "Discount";
    public const string BundledDiscount = "BundledDiscount";
    public const string EdpDiscount = "EdpDiscount";
    public const string PrivateRateDiscount = "PrivateRateDiscount";

    internal static AmortizedRule RuleOf(string lineItemType) => lineItemType switch
    {
        SavingsPlanCoveredUsage => AmortizedRule.SavingsPlanEffectiveCost,
        SavingsPlanRecurringFee => AmortizedRule.SavingsPlanUnusedCommitment,
        SavingsPlanNegation or SavingsPlanUpfrontFee => AmortizedRule.Zero,
        DiscountedUsage => AmortizedRule.ReservationEffectiveCost,
        RIFee => AmortizedRule.ReservationUnusedFees,
        Fee => AmortizedRule.FeeUnlessReservation,
        _ => AmortizedRule.Unblended,
    };
}

internal enum AmortizedRule
{
    Unblended,
    SavingsPlanEffectiveCost,
    SavingsPlanUnusedCommitment,
    Zero,
    ReservationEffectiveCost,
    ReservationUnusedFees,
    FeeUnlessReservation,
}
