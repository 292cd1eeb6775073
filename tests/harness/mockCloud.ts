// The mocks live with the lab, which evaluates the program under them too (the lab imports nothing from tests/).
export * from "../../lab/mocks/mockCloud";
