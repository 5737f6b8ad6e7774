using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CurWorkflows.Storage.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class CostRowsWithoutForeignKeys : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropForeignKey(
                name: "FK_daily_package_costs_integrations_integration_id",
                table: "daily_package_costs");

            migrationBuilder.DropForeignKey(
                name: "FK_daily_resource_costs_integrations_integration_id",
                table: "daily_resource_costs");

            migrationBuilder.DropForeignKey(
                name: "FK_monthly_package_costs_integrations_integration_id",
                table: "monthly_package_costs");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddForeignKey(
                name: "FK_daily_package_costs_integrations_integration_id",
                table: "daily_package_costs",
                column: "integration_id",
                principalTable: "integrations",
                principalColumn: "id",
                onDelete: ReferentialAction.Cascade);

            migrationBuilder.AddForeignKey(
                name: "FK_daily_resource_costs_integrations_integration_id",
                table: "daily_resource_costs",
                column: "integration_id",
                principalTable: "integrations",
                principalColumn: "id",
                onDelete: ReferentialAction.Cascade);

            migrationBuilder.AddForeignKey(
                name: "FK_monthly_package_costs_integrations_integration_id",
                table: "monthly_package_costs",
                column: "integration_id",
                principalTable: "integrations",
                principalColumn: "id",
                onDelete: ReferentialAction.Cascade);
        }
    }
}
