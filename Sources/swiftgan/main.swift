print("swiftgan")
